#!/bin/sh
# SPDX-License-Identifier: ISC
set -e
cd "$(dirname "$0")"
autoreconf -fi
