#!/bin/sh
# ../t3000-verify.sh with every pass a pull over ssh (SHELTER_E2E_MODE, see ../lib.sh).
SHELTER_E2E_MODE=pull exec bash "$(dirname "$0")/../t3000-verify.sh"
