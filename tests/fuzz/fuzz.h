#pragma once

/* Shared by the fuzz targets (fuzz-*.c), which libFuzzer drives in the
 * fuzzing build and replay-main.c drives over the seed corpus in every
 * other build. */

#include <stddef.h>
#include <stdint.h>

#include <glib.h>

int  LLVMFuzzerTestOneInput (const uint8_t *data,
                             size_t         size);
int  LLVMFuzzerInitialize   (int           *argc,
                             char        ***argv);

/* An invariant the code under test must keep whatever the input: a
 * failure aborts, which both libFuzzer and the replay report as a crash. */
#define FUZZ_CHECK(cond, ...)                                                   \
  G_STMT_START {                                                                \
    if (G_UNLIKELY (!(cond)))                                                   \
      fuzz_fail (__FILE__, __LINE__, #cond, __VA_ARGS__);                       \
  } G_STMT_END

G_NORETURN void fuzz_fail (const char *file,
                           int         line,
                           const char *condition,
                           const char *format,
                           ...) G_GNUC_PRINTF (4, 5);

/* Quiet logging (the code under test logs what it refuses, thousands of
 * times a second here), but warnings and criticals abort: a
 * g_return_if_fail() that input can reach is a bug. */
void fuzz_setup_logging (void);

/* Whether @text can go into a SIP quoted-string (a Warning header), a log
 * line and a D-Bus error as it is: valid UTF-8, no control characters,
 * no '"' or '\\'. */
gboolean fuzz_text_is_tame (const char *text);
