#!/bin/sh
# ../t2400-sync.sh with ROOT2 remote over ssh (SHELTER_E2E_MODE, see ../lib.sh).
SHELTER_E2E_MODE=push exec bash "$(dirname "$0")/../t2400-sync.sh"
