#!/bin/sh
# ../t2500-sync-kill.sh with ROOT2 remote over ssh (SHELTER_E2E_MODE, see ../lib.sh).
SHELTER_E2E_MODE=push exec bash "$(dirname "$0")/../t2500-sync-kill.sh"
