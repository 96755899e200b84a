/* lc_header_probe.h: see lc_header_probe.c. */
#ifndef LC_HEADER_PROBE_H
#define LC_HEADER_PROBE_H

#ifdef __cplusplus
extern "C" {
#endif

/* Runs every lock call once: 0, or the number of the step that failed. */
int lc_header_probe(void);

#ifdef __cplusplus
}
#endif

#endif /* LC_HEADER_PROBE_H */
