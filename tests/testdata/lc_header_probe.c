/* lc_header_probe.c: the probe (lc_header_probe.inc) as a C file. */
#include "lc_header_probe.inc"
