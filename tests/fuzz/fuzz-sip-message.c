/* What the SIP backend reads out of a message itself
 * (daemon/sip/dt-sip-parse.c): the input is a whole SIP message as it
 * arrives on the wire, parsed by Sofia as nua would, then handed to each of
 * our readers: intercom requests (Call-Info answer-after, Answer-Mode),
 * INFO dtmf-relay bodies, sipfrag statuses in NOTIFYs, Replaces in a
 * Refer-To, and the URIs we check or take an address from. */

#include <string.h>

#include <gio/gio.h>

#include <sofia-sip/msg.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/url.h>

#include "core/dt-error.h"
#include "sip/dt-sip-parse.h"

#include "fuzz.h"

int
LLVMFuzzerInitialize (int    *argc,
                      char ***argv)
{
  fuzz_setup_logging ();
  return 0;
}

static void
check_uri (su_home_t   *home,
           url_t const *url)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *ip = NULL;
  char *text;

  if (url == NULL)
    return;
  text = url_as_string (home, url);
  if (text == NULL)
    return;
  if (!dt_sip_uri_check (text, &error))
    FUZZ_CHECK (error->domain == DT_ERROR && error->code == DT_ERROR_INVALID_ARGUMENTS,
                "unexpected error %d", error->code);
  /* local_address_toward() and the dialler's "no DNS" shortcut rely on it. */
  ip = dt_sip_uri_ip (text);
  FUZZ_CHECK (ip == NULL || g_hostname_is_ip_address (ip), "'%s' from %s is not an IP", ip, text);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  msg_t *msg = msg_make (sip_default_mclass (), 0, data, (ssize_t) size);
  sip_t const *sip = msg ? sip_object (msg) : NULL;
  su_home_t home[1] = { SU_HOME_INIT (home) };
  guint delay = G_MAXUINT;
  guint status;

  if (sip == NULL)
    {
      msg_destroy (msg);
      return 0;
    }

  if (dt_sip_answer_requested (sip, &delay))
    FUZZ_CHECK (delay <= 3600, "answer-after %u", delay);

  if (sip->sip_payload != NULL)
    {
      g_autofree char *unknown = NULL;
      g_autofree char *signals = dt_sip_dtmf_relay_signals (sip->sip_payload->pl_data,
                                                            sip->sip_payload->pl_len, &unknown);

      FUZZ_CHECK (strlen (signals) <= sip->sip_payload->pl_len, "more signals than bytes");
    }

  status = dt_sip_sipfrag_status (sip);
  FUZZ_CHECK (status == 0 || (status >= 100 && status <= 699), "sipfrag status %u", status);

  if (sip->sip_refer_to != NULL)
    {
      char *replaces = dt_sip_replaces_from_headers (home, sip->sip_refer_to->r_url->url_headers);

      /* It becomes our INVITE's Replaces header (SIPTAG_REPLACES_STR). */
      FUZZ_CHECK (replaces == NULL || strpbrk (replaces, "\r\n") == NULL,
                  "Replaces with a line break: %s", replaces);
      check_uri (home, sip->sip_refer_to->r_url);
    }

  if (sip->sip_request != NULL)
    check_uri (home, sip->sip_request->rq_url);
  if (sip->sip_from != NULL)
    check_uri (home, sip->sip_from->a_url);
  if (sip->sip_to != NULL)
    check_uri (home, sip->sip_to->a_url);
  for (sip_contact_t const *m = sip->sip_contact; m != NULL; m = m->m_next)
    check_uri (home, m->m_url);

  su_home_deinit (home);
  msg_destroy (msg);
  return 0;
}
