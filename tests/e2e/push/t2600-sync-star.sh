#!/bin/sh
# ../t2600-sync-star.sh with ROOT2 (the hub) remote over ssh (SHELTER_E2E_MODE, see ../lib.sh).
SHELTER_E2E_MODE=push exec bash "$(dirname "$0")/../t2600-sync-star.sh"
