#!/bin/sh
# ../t2500-sync-kill.sh with ROOT1 remote over ssh (SHELTER_E2E_MODE, see ../lib.sh).
SHELTER_E2E_MODE=pull exec bash "$(dirname "$0")/../t2500-sync-kill.sh"
