/* One SDES a=crypto value (RFC 4568, daemon/sip/dt-sdp.c): the input is
 * what follows "a=crypto:" in a peer's SDP. A line we accept must write
 * back as a line that parses to the same suite, tag and key. */

#include <string.h>

#include "core/dt-error.h"
#include "sip/dt-sdp.h"

#include "fuzz.h"

int
LLVMFuzzerInitialize (int    *argc,
                      char ***argv)
{
  fuzz_setup_logging ();
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  /* Sofia hands us a C string: the value ends at a NUL or a line break. */
  g_autofree char *value = g_strndup ((const char *) data, size);
  g_autoptr(DtCrypto) crypto = NULL;
  g_autoptr(DtCrypto) again = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *line = NULL;

  value[strcspn (value, "\r\n")] = '\0';
  crypto = dt_sdp_parse_crypto (value, &error);
  if (crypto == NULL)
    {
      FUZZ_CHECK (error != NULL && error->domain == DT_ERROR &&
                  (error->code == DT_ERROR_INVALID_ARGUMENTS || error->code == DT_ERROR_NOT_SUPPORTED),
                  "unexpected error");
      return 0;
    }
  FUZZ_CHECK (crypto->suite < DT_CRYPTO_SUITE_COUNT, "suite %d", crypto->suite);

  line = dt_sdp_write_crypto (crypto);
  FUZZ_CHECK (strpbrk (line, "\r\n") == NULL, "line break in '%s'", line);
  again = dt_sdp_parse_crypto (line, &error);
  FUZZ_CHECK (again != NULL, "our line '%s' does not parse: %s", line, error->message);
  FUZZ_CHECK (dt_crypto_equal (crypto, again), "'%s' does not give back '%s'", line, value);
  return 0;
}
