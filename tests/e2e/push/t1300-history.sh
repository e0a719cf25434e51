#!/bin/sh
# ../t1300-history.sh with every pass a push over ssh (SHELTER_E2E_MODE, see ../lib.sh).
SHELTER_E2E_MODE=push exec bash "$(dirname "$0")/../t1300-history.sh"
