#!/bin/sh
# ../t3200-changing.sh with every pass a push over ssh (SHELTER_E2E_MODE, see ../lib.sh).
SHELTER_E2E_MODE=push exec bash "$(dirname "$0")/../t3200-changing.sh"
