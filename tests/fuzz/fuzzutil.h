/*
 * fuzzutil - what the libFuzzer targets in tests/fuzz/ share
 *
 * A target that needs files (a config, a customer map, a template, the
 * SQLite outbox) gets one private temp directory per process, created on
 * first use and removed at exit; inputs are written into it as files because
 * the code under test reads files, exactly as the daemon does.
 *
 * Invariant checks call fuzz_fail(), which prints what broke and aborts, so
 * libFuzzer saves the input as a crash.
 *
 * Owns: the per-process temp directory.
 */
#ifndef SM_FUZZUTIL_H
#define SM_FUZZUTIL_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* fuzz_tmpdir - the process's temp directory (under $TMPDIR, else /tmp) */
const char *fuzz_tmpdir(void);

/* fuzz_path - NAME inside fuzz_tmpdir(); a static buffer per call site is the caller's */
void fuzz_path(char *out, size_t outlen, const char *name);

/* fuzz_write_file - PATH holds exactly DATA/LEN (aborts on I/O errors) */
void fuzz_write_file(const char *path, const void *data, size_t len);

/* fuzz_fail - an invariant broke: say which and with what, then abort */
void fuzz_fail(const char *what, const char *detail) __attribute__((noreturn));

/* fuzz_header_value_safe - a value for an added header: no CR, no NUL, no
 * other control than TAB, and every LF starts a folded continuation (is
 * followed by a space or a tab) */
int fuzz_header_value_safe(const char *value);

/* fuzz_message_headers_safe - the header block of a whole message (up to the
 * first empty line): every line is "Name: value" or a folded continuation,
 * no CR, no control characters; 1 when so */
int fuzz_message_headers_safe(const char *msg);

#endif
