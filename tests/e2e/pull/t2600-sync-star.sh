#!/bin/sh
# ../t2600-sync-star.sh with ROOT1 (each replica) remote over ssh (SHELTER_E2E_MODE, see ../lib.sh).
SHELTER_E2E_MODE=pull exec bash "$(dirname "$0")/../t2600-sync-star.sh"
