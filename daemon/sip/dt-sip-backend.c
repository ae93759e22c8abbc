#include "dt-sip-backend.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include <sofia-sip/su_config.h>
#include <sofia-sip/sofia_features.h>
#include <sofia-sip/su_glib.h>
#include <sofia-sip/su_log.h>
#include <sofia-sip/su_uniqueid.h>
#include <sofia-sip/nua.h>
#include <sofia-sip/nua_tag.h>
#include <sofia-sip/nta_tag.h>
#include <sofia-sip/tport_tag.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/url.h>

#include "core/dt-account.h"
#include "core/dt-call.h"
#include "dt-sip-guard.h"
#include "dt-sip-parse.h"
#include "dt-sip-private.h"
#include "dt-sip-resolver.h"
#include "core/dt-error.h"

#define G_LOG_DOMAIN_SOFIA "sofia"

/* How long a removed or disabled account may take to unregister and shut
 * its stack down before we stop waiting. */
#define RETIRE_BOUND_MS 8000
#define SHUTDOWN_T1X64_MS 2000

static void dt_sip_backend_iface_init (DtBackendInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (DtSipBackend, dt_sip_backend, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (DT_TYPE_BACKEND, dt_sip_backend_iface_init))

/* Sofia's TLS transport reports a failed handshake or certificate check
 * only in its log, and the request then fails like any unanswered one
 * (408 after timer F). These are the lines it writes; seeing one lets a
 * TLS account's failure be reported as tls-error. */
static const char * const tls_failure_marks[] = {
  "TLS setup failed", "Peer Subject Mismatch", "Error with certificate",
  "certificate verify failed", NULL
};

/* Sofia logs through su_log, sometimes a line in several fragments (its
 * message dumps): collect up to the newline, then hand GLib whole lines at
 * debug level. */
static void
log_sofia (void       *stream,
           char const *format,
           va_list     args)
{
  DtSipBackend *self = stream;
  char *newline;

  g_string_append_vprintf (self->log_line, format, args);
  while ((newline = strchr (self->log_line->str, '\n')) != NULL)
    {
      *newline = '\0';
      for (const char * const *mark = tls_failure_marks; *mark; mark++)
        if (strstr (self->log_line->str, *mark) != NULL)
          self->tls_failure_usec = g_get_monotonic_time ();
      g_log_structured (G_LOG_DOMAIN_SOFIA, G_LOG_LEVEL_DEBUG, "MESSAGE", "%s", self->log_line->str);
      g_string_erase (self->log_line, 0, newline - self->log_line->str + 1);
    }
}

static gboolean
sip_check_uri (DtBackend   *backend,
               const char  *uri,
               GError     **error)
{
  return dt_sip_uri_check (uri, error);
}

static const char *
account_id (SipAccount *sa)
{
  return sa->id;
}

/* "sip:ADDR:PORT;transport=udp" (or sips: for TLS): exactly one transport
 * on the address and port of the account's settings. */
static char *
bind_url (const DtSettings *settings)
{
  const char *transport = dt_settings_get_string (settings, "transport");
  const char *address = dt_settings_get_string (settings, "local-address");
  guint port = dt_settings_get_uint (settings, "local-port");
  g_autofree char *host = NULL;

  if (address == NULL)
    host = g_strdup ("*");
  else if (strchr (address, ':') != NULL)
    host = g_strdup_printf ("[%s]", address);
  else
    host = g_strdup (address);

  /* Sofia binds TLS only from a sips: URL (";transport=tls" fails). */
  if (g_str_equal (transport, "tls"))
    return g_strdup_printf ("sips:%s:%u", host, port);
  return g_strdup_printf ("sip:%s:%u;transport=%s", host, port, transport);
}

static char *
from_header (DtAccount *account)
{
  const char *name = dt_account_get_display_name (account);
  g_autofree char *quoted = NULL;

  if (*name == '\0')
    return g_strdup_printf ("<%s>", dt_account_get_address (account));
  quoted = g_strescape (name, NULL);
  return g_strdup_printf ("\"%s\" <%s>", quoted, dt_account_get_address (account));
}

static void sofia_callback (nua_event_t   event,
                            int           status,
                            char const   *phrase,
                            nua_t        *nua,
                            nua_magic_t  *magic,
                            nua_handle_t *nh,
                            nua_hmagic_t *hmagic,
                            sip_t const  *sip,
                            tagi_t        tags[]);

static void
remove_cert_dir (SipAccount *sa)
{
  g_autofree char *link = NULL;

  if (sa->cert_dir == NULL)
    return;
  link = g_build_filename (sa->cert_dir, "cafile.pem", NULL);
  g_unlink (link);
  g_rmdir (sa->cert_dir);
  g_clear_pointer (&sa->cert_dir, g_free);
}

static void
sip_account_free (SipAccount *sa)
{
  g_clear_handle_id (&sa->bound_id, g_source_remove);
  if (sa->resolving != NULL)
    g_cancellable_cancel (sa->resolving);
  g_clear_object (&sa->resolving);
  g_free (sa->next_hop);
  dt_sip_guard_account_free (sa);
  /* Only a stack whose shutdown finished (or never started one) gets
   * here: nua_destroy asserts otherwise. */
  if (sa->nua != NULL)
    nua_destroy (sa->nua);
  remove_cert_dir (sa);
  g_free (sa->id);
  g_free (sa);
}

/* Sofia takes trusted CAs only as a folder: FOLDER/cafile.pem and the
 * folder itself as an OpenSSL hashed directory. A private folder with a
 * link to the configured file gives it exactly that CA; without a CA file,
 * the system's store. */
static const char *
prepare_cert_dir (SipAccount  *sa,
                  const char  *ca_file,
                  GError     **error)
{
  g_autofree char *link = NULL;
  g_autoptr(GError) local_error = NULL;

  if (ca_file == NULL)
    return "/etc/ssl/certs";
  sa->cert_dir = g_dir_make_tmp ("dialtone-tls-XXXXXX", &local_error);
  if (sa->cert_dir == NULL)
    {
      g_set_error (error, DT_ERROR, DT_ERROR_FAILED, "cannot prepare the TLS CA: %s", local_error->message);
      return NULL;
    }
  link = g_build_filename (sa->cert_dir, "cafile.pem", NULL);
  if (symlink (ca_file, link) != 0)
    {
      int saved = errno;
      g_set_error (error, DT_ERROR, DT_ERROR_FAILED, "cannot prepare the TLS CA: %s", g_strerror (saved));
      return NULL;
    }
  return sa->cert_dir;
}

/* Keepalives on the registration's flow: OPTIONS for UDP (they also keep
 * NAT bindings open) and for TLS (Sofia 1.12's TLS transport cannot send
 * CRLF pings); CRLF pings for TCP. */
static const char *
outbound_options (const char *transport,
                  guint       keepalive_ms)
{
  if (keepalive_ms == 0 || g_str_equal (transport, "tcp"))
    return "natify use-rport no-options-keepalive no-validate";
  return "natify use-rport options-keepalive";
}

static gboolean
sip_account_add (DtBackend  *backend,
                 DtAccount  *account,
                 GError    **error)
{
  DtSipBackend *self = DT_SIP_BACKEND (backend);
  const DtSettings *settings = dt_account_get_settings (account);
  const char *transport = dt_settings_get_string (settings, "transport");
  g_autofree char *url = bind_url (settings);
  g_autofree char *from = from_header (account);
  guint keepalive_ms = dt_settings_get_uint (settings, "keepalive-interval") * 1000;
  const char *cert_dir = NULL;
  SipAccount *sa;

  g_return_val_if_fail (g_hash_table_lookup (self->accounts, account) == NULL, FALSE);

  sa = g_new0 (SipAccount, 1);
  sa->backend = self;
  sa->account = account;
  sa->id = g_strdup (dt_account_get_id (account));
  sa->tls = g_str_equal (transport, "tls");
  if (sa->tls &&
      (cert_dir = prepare_cert_dir (sa, dt_settings_get_string (settings, "tls-ca-file"), error)) == NULL)
    {
      sip_account_free (sa);
      return FALSE;
    }

  sa->nua = nua_create (self->root, sofia_callback, sa,
                        NUTAG_URL (url),
                        TAG_IF (sa->tls, NUTAG_CERTIFICATE_DIR (cert_dir)),
                        TAG_IF (sa->tls, TPTAG_TLS_VERIFY_POLICY (
                                  dt_settings_get_boolean (settings, "tls-verify")
                                    ? TPTLS_VERIFY_SUBJECTS_OUT : TPTLS_VERIFY_NONE)),
                        SIPTAG_FROM_STR (from),
                        SIPTAG_USER_AGENT_STR (dt_settings_get_string (settings, "user-agent")),
                        NUTAG_MEDIA_ENABLE (0),
                        /* We decide when to ring and answer. */
                        NUTAG_AUTOALERT (0),
                        NUTAG_AUTOANSWER (0),
                        /* DTMF as SIP INFO; nua answers it for us. */
                        NUTAG_ALLOW ("INFO"),
                        NUTAG_OUTBOUND (outbound_options (transport, keepalive_ms)),
                        TAG_IF (keepalive_ms > 0, NUTAG_KEEPALIVE (keepalive_ms)),
                        TAG_IF (keepalive_ms > 0 && g_str_equal (transport, "tcp"),
                                TPTAG_KEEPALIVE (keepalive_ms)),
                        /* Retries are the account's policy (with backoff it
                         * can report), not a hidden loop inside nua. */
                        NUTAG_MAX_RETRY_AFTER (0),
                        NTATAG_SIP_T1X64 (self->transaction_timeout_ms),
                        TAG_END ());
  if (sa->nua == NULL)
    {
      g_set_error (error, DT_ERROR, DT_ERROR_FAILED,
                   "cannot listen on %s (address in use or not available)", url);
      sip_account_free (sa);
      return FALSE;
    }
  dt_sip_guard_account_start (sa);
  g_hash_table_insert (self->accounts, account, sa);
  g_debug ("Account %s: SIP stack on %s", sa->id, url);
  return TRUE;
}

static void
report (SipAccount           *sa,
        DtAccountState        state,
        DtAccountStateReason  reason,
        int                   status,
        const char           *phrase,
        gint64                expires_usec)
{
  if (sa->account != NULL)
    dt_account_notify_registration (sa->account, state, reason, (guint) MAX (status, 0),
                                    phrase, expires_usec);
}

typedef struct {
  SipAccount *sa;
  char       *registrar;  /* resolved */
} Registration;

static void
registration_free (Registration *r)
{
  g_free (r->registrar);
  g_free (r);
}

static void
send_register (SipAccount *sa,
               const char *registrar,
               const char *next_hop)
{
  const DtSettings *settings = dt_account_get_settings (sa->account);
  g_autofree char *expires = g_strdup_printf ("%u", dt_settings_get_uint (settings, "expires"));

  /* The account's requests go through its outbound proxy, else through its
   * registrar: the flow its keepalives keep open, and an address Sofia
   * need not resolve. */
  if (g_strcmp0 (sa->next_hop, next_hop) != 0)
    {
      g_free (sa->next_hop);
      sa->next_hop = g_strdup (next_hop);
      nua_set_params (sa->nua, NUTAG_PROXY (next_hop), TAG_END ());
    }
  dt_sip_guard_set_next_hops (sa, registrar, next_hop);
  if (sa->reg == NULL)
    sa->reg = nua_handle (sa->nua, sa, SIPTAG_TO_STR (dt_account_get_address (sa->account)), TAG_END ());
  sa->auth_sent = FALSE;
  sa->unregistering = FALSE;
  sa->register_sent_usec = g_get_monotonic_time ();
  nua_register (sa->reg,
                NUTAG_REGISTRAR (registrar),
                SIPTAG_EXPIRES_STR (expires),
                TAG_END ());
}

static void
report_resolve_error (SipAccount   *sa,
                      const char   *what,
                      const GError *error)
{
  g_warning ("Account %s: cannot resolve the %s: %s", sa->id, what, error->message);
  report (sa, DT_ACCOUNT_STATE_FAILED, DT_ACCOUNT_STATE_REASON_DNS_ERROR, 0, error->message, 0);
}

static void
on_proxy_resolved (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  Registration *r = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *proxy = dt_sip_resolve_uri_finish (result, &error);

  if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_clear_object (&r->sa->resolving);
      if (proxy == NULL)
        report_resolve_error (r->sa, "outbound proxy", error);
      else
        send_register (r->sa, r->registrar, proxy);
    }
  registration_free (r);
}

static void
on_registrar_resolved (GObject      *source,
                       GAsyncResult *result,
                       gpointer      user_data)
{
  Registration *r = user_data;
  g_autoptr(GError) error = NULL;
  SipAccount *sa = r->sa;
  const char *proxy;

  r->registrar = dt_sip_resolve_uri_finish (result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      registration_free (r);
      return;
    }
  if (r->registrar == NULL)
    {
      g_clear_object (&sa->resolving);
      report_resolve_error (sa, "registrar", error);
      registration_free (r);
      return;
    }
  proxy = dt_settings_get_string (dt_account_get_settings (sa->account), "outbound-proxy");
  if (proxy == NULL)
    {
      g_clear_object (&sa->resolving);
      send_register (sa, r->registrar, r->registrar);
      registration_free (r);
      return;
    }
  dt_sip_resolve_uri_async (proxy, dt_account_get_transport (sa->account), sa->resolving,
                            on_proxy_resolved, r);
}

static void
sip_account_register (DtBackend *backend,
                      DtAccount *account)
{
  DtSipBackend *self = DT_SIP_BACKEND (backend);
  SipAccount *sa = g_hash_table_lookup (self->accounts, account);
  Registration *r;

  g_return_if_fail (sa != NULL);

  if (sa->resolving != NULL)
    g_cancellable_cancel (sa->resolving);
  g_clear_object (&sa->resolving);
  sa->resolving = g_cancellable_new ();

  r = g_new0 (Registration, 1);
  r->sa = sa;
  dt_sip_resolve_uri_async (dt_settings_get_string (dt_account_get_settings (account), "registrar"),
                            dt_account_get_transport (account), sa->resolving,
                            on_registrar_resolved, r);
}

static void
sip_account_unregister (DtBackend *backend,
                        DtAccount *account)
{
  DtSipBackend *self = DT_SIP_BACKEND (backend);
  SipAccount *sa = g_hash_table_lookup (self->accounts, account);

  g_return_if_fail (sa != NULL);
  if (sa->resolving != NULL)
    g_cancellable_cancel (sa->resolving);
  if (sa->reg == NULL)
    {
      report (sa, DT_ACCOUNT_STATE_UNREGISTERED, DT_ACCOUNT_STATE_REASON_USER_REQUEST, 0, NULL, 0);
      return;
    }
  sa->unregistering = TRUE;
  nua_unregister (sa->reg, TAG_END ());
}

static void
maybe_finish_shutdown (DtSipBackend *self)
{
  g_autoptr(GTask) task = NULL;

  if (self->shutdown_task == NULL || self->retiring->len != 0)
    return;
  /* Returning a result does not give up our reference to the task. */
  task = g_steal_pointer (&self->shutdown_task);
  g_task_return_boolean (task, TRUE);
}

static gboolean
destroy_retired (gpointer user_data)
{
  SipAccount *sa = user_data;
  DtSipBackend *self = sa->backend;

  g_debug ("Account %s: SIP stack released", sa->id);
  if (!g_ptr_array_remove (self->retiring, sa))
    g_ptr_array_remove (self->lingering, sa);
  maybe_finish_shutdown (self);
  return G_SOURCE_REMOVE;
}

/* nua_shutdown sends un-REGISTERs for live registrations and ends every
 * other usage; nua_r_shutdown tells us when it is done. A registration that
 * is not live (refused, or still waiting for credentials) would keep it
 * waiting: its handle goes first. */
static void
begin_stack_shutdown (SipAccount *sa)
{
  if (sa->shutdown_sent)
    return;
  sa->shutdown_sent = TRUE;
  if (sa->reg != NULL && !sa->registered)
    {
      nua_handle_destroy (sa->reg);
      sa->reg = NULL;
    }
  /* The un-REGISTER must not wait out a full timer F when the registrar is
   * gone: shutdown is bounded. */
  nua_set_params (sa->nua, NTATAG_SIP_T1X64 (MIN (SHUTDOWN_T1X64_MS, sa->backend->transaction_timeout_ms)),
                  TAG_END ());
  nua_shutdown (sa->nua);
}

/* Past the bound, the daemon stops waiting, but the stack still calls back
 * with this SipAccount until Sofia's own limit (30 s) ends the shutdown:
 * it lingers until then. */
static gboolean
on_retire_bound (gpointer user_data)
{
  SipAccount *sa = user_data;
  DtSipBackend *self = sa->backend;
  guint index;

  sa->bound_id = 0;
  g_warning ("Account %s: SIP stack did not shut down within %d ms; not waiting for it",
             sa->id, RETIRE_BOUND_MS);
  if (g_ptr_array_find (self->retiring, sa, &index))
    g_ptr_array_add (self->lingering, g_ptr_array_steal_index (self->retiring, index));
  maybe_finish_shutdown (self);
  return G_SOURCE_REMOVE;
}

static void
retire (DtSipBackend *self,
        SipAccount   *sa)
{
  if (sa->resolving != NULL)
    g_cancellable_cancel (sa->resolving);
  dt_sip_calls_account_gone (self, sa);
  sa->account = NULL;
  g_ptr_array_add (self->retiring, sa);
  sa->bound_id = g_timeout_add (RETIRE_BOUND_MS, on_retire_bound, sa);
  begin_stack_shutdown (sa);
}

static void
sip_account_remove (DtBackend *backend,
                    DtAccount *account)
{
  DtSipBackend *self = DT_SIP_BACKEND (backend);
  SipAccount *sa = NULL;

  if (!g_hash_table_steal_extended (self->accounts, account, NULL, (gpointer *) &sa))
    return;
  retire (self, sa);
}

static msg_auth_t const *
challenge (sip_t const *sip,
           int          status)
{
  if (sip == NULL)
    return NULL;
  return status == 407 ? sip->sip_proxy_authenticate : sip->sip_www_authenticate;
}

char *
dt_sip_account_credentials (SipAccount  *sa,
                            sip_t const *sip,
                            int          status)
{
  const DtSettings *settings = dt_account_get_settings (sa->account);
  const char *password = dt_settings_get_string (settings, "password");
  const char *auth_user = dt_settings_get_string (settings, "auth-user");
  msg_auth_t const *auth = challenge (sip, status);
  /* Sofia wants the realm exactly as challenged, quotes included. */
  const char *realm = auth ? msg_params_find (auth->au_params, "realm=") : NULL;
  g_autofree char *user = NULL;

  if (password == NULL)
    return NULL;
  if (auth_user == NULL)
    {
      su_home_t home[1] = { SU_HOME_INIT (home) };
      url_t *aor = url_make (home, dt_account_get_address (sa->account));
      user = g_strdup (aor && aor->url_user ? aor->url_user : "");
      su_home_deinit (home);
    }
  else
    user = g_strdup (auth_user);
  return g_strdup_printf ("%s:%s:%s:%s", auth && auth->au_scheme ? auth->au_scheme : "Digest",
                          realm ? realm : "\"\"", user, password);
}

static void
authenticate (SipAccount  *sa,
              sip_t const *sip,
              int          status)
{
  g_autofree char *credentials = dt_sip_account_credentials (sa, sip, status);

  if (credentials == NULL)
    {
      report (sa, DT_ACCOUNT_STATE_FAILED, DT_ACCOUNT_STATE_REASON_NO_CREDENTIALS, status,
              "no password set", 0);
      return;
    }
  sa->auth_sent = TRUE;
  nua_authenticate (sa->reg, NUTAG_AUTH (credentials), TAG_END ());
  explicit_bzero (credentials, strlen (credentials));
}

static gboolean
contact_is_ours (sip_contact_t const *m,
                 sip_via_t const     *via)
{
  const char *host = m->m_url->url_host;
  const char *port = m->m_url->url_port ? m->m_url->url_port : "5060";

  if (via == NULL || host == NULL)
    return FALSE;
  /* Our sent-by address, or the one the registrar saw (rport/received),
   * which natify puts in the Contact behind a NAT. */
  return (g_ascii_strcasecmp (host, via->v_host) == 0 &&
          g_strcmp0 (port, via->v_port ? via->v_port : "5060") == 0) ||
         (via->v_received && via->v_rport && g_ascii_strcasecmp (host, via->v_received) == 0 &&
          g_strcmp0 (port, via->v_rport) == 0);
}

/* The lifetime the registrar granted our contact (a 200 lists every
 * device's binding): the Contact's expires parameter, else the Expires
 * header, else what we asked for. */
static gint64
granted_expiry (SipAccount  *sa,
                sip_t const *sip)
{
  guint asked = dt_settings_get_uint (dt_account_get_settings (sa->account), "expires");
  guint header = sip && sip->sip_expires ? (guint) sip->sip_expires->ex_delta : asked;
  guint seconds = 0;
  gboolean found = FALSE;

  for (sip_contact_t const *m = sip ? sip->sip_contact : NULL; m; m = m->m_next)
    if (contact_is_ours (m, sip->sip_via))
      {
        guint delta = m->m_expires ? (guint) g_ascii_strtoull (m->m_expires, NULL, 10) : header;
        seconds = found ? MIN (seconds, delta) : delta;
        found = TRUE;
      }
  if (!found)
    seconds = header;
  return g_get_real_time () + (gint64) seconds * G_USEC_PER_SEC;
}

/* What a final failure means for the user. Sofia answers for the network
 * itself when nothing usable came back: 408 when no answer came in time,
 * 503 "Service Unavailable" at once when the registrar's port refused us
 * (ICMP or TCP reset), 503 "DNS Error". A failed TLS handshake is only in
 * the log and ends as a 408. */
static DtAccountStateReason
failure_reason (SipAccount  *sa,
                int          status,
                const char  *phrase,
                sip_t const *sip)
{
  gboolean from_server = sip != NULL && sip->sip_via != NULL && sip->sip_via->v_received != NULL;

  if (status == 403)
    return DT_ACCOUNT_STATE_REASON_FORBIDDEN;
  if (status == 503 && g_strcmp0 (phrase, "DNS Error") == 0)
    return DT_ACCOUNT_STATE_REASON_DNS_ERROR;
  if (sa->tls && status == 408 && sa->backend->tls_failure_usec >= sa->register_sent_usec)
    return DT_ACCOUNT_STATE_REASON_TLS_ERROR;
  if (status == 408 || (status == 503 && !from_server))
    return DT_ACCOUNT_STATE_REASON_TIMEOUT;
  return DT_ACCOUNT_STATE_REASON_SERVER_ERROR;
}

static void
on_register (SipAccount  *sa,
             int          status,
             char const  *phrase,
             sip_t const *sip)
{
  /* Below 200: progress, including nua's own restarts (423 handled with
   * Min-Expires, cached credentials, NAT detected). */
  if (sa->account == NULL || status < 200)
    return;

  if (status >= 200 && status < 300)
    {
      sa->auth_sent = FALSE;
      sa->registered = TRUE;
      report (sa, DT_ACCOUNT_STATE_REGISTERED, DT_ACCOUNT_STATE_REASON_NONE, status, phrase,
              granted_expiry (sa, sip));
      return;
    }

  if (status == 401 || status == 407)
    {
      /* One answer per challenge: a second challenge right after our
       * credentials means they are wrong, and trying again would only
       * count towards a lockout. */
      if (!sa->auth_sent)
        {
          authenticate (sa, sip, status);
          return;
        }
      sa->auth_sent = FALSE;
      sa->registered = FALSE;
      report (sa, DT_ACCOUNT_STATE_FAILED, DT_ACCOUNT_STATE_REASON_AUTH_FAILED, status, phrase, 0);
      return;
    }

  /* 904: nua refused to answer the same challenge twice. */
  if (status == 904)
    {
      sa->auth_sent = FALSE;
      sa->registered = FALSE;
      report (sa, DT_ACCOUNT_STATE_FAILED, DT_ACCOUNT_STATE_REASON_AUTH_FAILED, 401, phrase, 0);
      return;
    }

  sa->auth_sent = FALSE;
  sa->registered = FALSE;
  report (sa, DT_ACCOUNT_STATE_FAILED, failure_reason (sa, status, phrase, sip), status, phrase, 0);
}

static void
on_unregister (SipAccount  *sa,
               int          status,
               char const  *phrase,
               sip_t const *sip)
{
  /* nua also un-REGISTERs by itself after a 5xx to a refresh; only the
   * unregistration we asked for is news for the account. */
  if (status < 200 || !sa->unregistering)
    return;
  if ((status == 401 || status == 407) && !sa->auth_sent && sa->account != NULL)
    {
      authenticate (sa, sip, status);
      return;
    }
  sa->unregistering = FALSE;
  sa->auth_sent = FALSE;
  sa->registered = FALSE;
  report (sa, DT_ACCOUNT_STATE_UNREGISTERED, DT_ACCOUNT_STATE_REASON_USER_REQUEST, status, phrase, 0);
}

static void
sofia_callback (nua_event_t   event,
                int           status,
                char const   *phrase,
                nua_t        *nua,
                nua_magic_t  *magic,
                nua_handle_t *nh,
                nua_hmagic_t *hmagic,
                sip_t const  *sip,
                tagi_t        tags[])
{
  SipAccount *sa = magic;

  g_debug ("Account %s: %s %d %s", account_id (sa), nua_event_name (event), status,
           phrase ? phrase : "");

  if (dt_sip_guard_screen (sa, event, status, nh, hmagic, sip))
    return;
  /* A finished call's handle, waiting to be destroyed. */
  if (hmagic != NULL && hmagic == (nua_hmagic_t *) sa->backend)
    return;
  /* Call handles carry their SipCall; a new dialog's INVITE has none yet. */
  if (nh != NULL && nh != sa->reg && hmagic != NULL && hmagic != (nua_hmagic_t *) sa)
    {
      dt_sip_calls_event ((SipCall *) hmagic, event, status, phrase, nh, sip, tags);
      return;
    }
  if (event == nua_i_invite && nh != NULL && hmagic == NULL)
    {
      dt_sip_calls_incoming_invite (sa, nh, sip);
      return;
    }

  switch (event)
    {
    case nua_r_register:
      on_register (sa, status, phrase, sip);
      break;

    case nua_r_unregister:
      on_unregister (sa, status, phrase, sip);
      break;

    case nua_r_shutdown:
      if (status >= 200 && !sa->shut_down)
        {
          sa->shut_down = TRUE;
          /* nua may not be destroyed from inside its own callback. */
          g_idle_add (destroy_retired, sa);
        }
      break;

    case nua_i_outbound:
      g_debug ("Account %s: outbound %d %s", account_id (sa), status, phrase);
      break;

    default:
      /* Requests we do not handle yet are answered by nua itself
       * (405/501); handles it created for them are released here. */
      if (nh != NULL && nh != sa->reg && hmagic == NULL)
        nua_handle_destroy (nh);
      break;
    }
}

static const char *
sip_get_name (DtBackend *backend)
{
  return "sofia-sip";
}

static void
sip_shutdown_async (DtBackend           *backend,
                    GCancellable        *cancellable,
                    GAsyncReadyCallback  callback,
                    gpointer             user_data)
{
  DtSipBackend *self = DT_SIP_BACKEND (backend);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  GHashTableIter iter;
  gpointer value;

  g_task_set_source_tag (task, sip_shutdown_async);
  g_hash_table_iter_init (&iter, self->accounts);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      g_hash_table_iter_steal (&iter);
      retire (self, value);
    }
  if (self->retiring->len == 0)
    {
      g_task_return_boolean (task, TRUE);
      return;
    }
  self->shutdown_task = g_steal_pointer (&task);
}

static gboolean
sip_shutdown_finish (DtBackend     *backend,
                     GAsyncResult  *result,
                     GError       **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
dt_sip_backend_iface_init (DtBackendInterface *iface)
{
  iface->get_name = sip_get_name;
  iface->check_uri = sip_check_uri;
  iface->account_add = sip_account_add;
  iface->account_remove = sip_account_remove;
  iface->account_register = sip_account_register;
  iface->account_unregister = sip_account_unregister;
  iface->call_dial = dt_sip_call_dial;
  iface->call_answer = dt_sip_call_answer;
  iface->call_reject = dt_sip_call_reject;
  iface->call_hangup = dt_sip_call_hangup;
  iface->call_reoffer = dt_sip_call_reoffer;
  iface->call_send_dtmf_info = dt_sip_call_send_dtmf_info;
  iface->call_transfer = dt_sip_call_transfer;
  iface->shutdown_async = sip_shutdown_async;
  iface->shutdown_finish = sip_shutdown_finish;
}

static void
dt_sip_backend_finalize (GObject *object)
{
  DtSipBackend *self = DT_SIP_BACKEND (object);

  gboolean abandoned = self->retiring->len > 0 || self->lingering->len > 0;

  g_hash_table_unref (self->accounts);
  g_hash_table_unref (self->calls);
  g_clear_pointer (&self->codecs, g_ptr_array_unref);
  /* A stack still shutting down points into the root and calls back with
   * its SipAccount: leave them all to the process exit. */
  if (abandoned)
    {
      g_ptr_array_set_free_func (self->retiring, NULL);
      g_ptr_array_set_free_func (self->lingering, NULL);
    }
  g_ptr_array_unref (self->retiring);
  g_ptr_array_unref (self->lingering);
  if (!abandoned)
    {
      if (self->source != NULL)
        g_source_destroy (self->source);
      if (self->root != NULL)
        su_root_destroy (self->root);
      g_clear_pointer (&self->guard, dt_sip_guard_free);
    }
  su_log_redirect (NULL, NULL, NULL);
  g_string_free (self->log_line, TRUE);
  su_home_deinit (self->home);
  /* No su_deinit(): with su_root_threading(root, 0) Sofia never creates
   * its thread keys, yet su_deinit() deletes them, freeing key 0, which
   * GLib owns; GLib then aborts at exit. su_init() holds nothing that
   * outlives the process. */
  G_OBJECT_CLASS (dt_sip_backend_parent_class)->finalize (object);
}

static void
dt_sip_backend_class_init (DtSipBackendClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = dt_sip_backend_finalize;
}

static void
dt_sip_backend_init (DtSipBackend *self)
{
  self->accounts = g_hash_table_new_full (NULL, NULL, NULL, (GDestroyNotify) sip_account_free);
  self->retiring = g_ptr_array_new_with_free_func ((GDestroyNotify) sip_account_free);
  self->lingering = g_ptr_array_new_with_free_func ((GDestroyNotify) sip_account_free);
  self->calls = g_hash_table_new (NULL, NULL);
  self->log_line = g_string_new (NULL);
}

/* Sofia 1.12.11 starts su_uniqueid.c with "done_once = 1": unless its
 * random state was ever set up, its library destructor deletes thread key
 * 0, which belongs to GLib, and a GLib thread still busy at exit (the
 * signal or D-Bus worker) then crashes. Drawing one number makes Sofia
 * create (and later delete) a key of its own. The daemon calls this first
 * thing, since it may exit before any backend exists. */
void
dt_sip_backend_prepare_process (void)
{
  (void) su_randint (0, 1);
}

DtSipBackend *
dt_sip_backend_new (const DtSipBackendOptions  *options,
                    GError                    **error)
{
  g_autoptr(DtSipBackend) self = g_object_new (DT_TYPE_SIP_BACKEND, NULL);

  self->transaction_timeout_ms = options->transaction_timeout_ms;
  self->guard = dt_sip_guard_new (options->request_rate, options->request_burst);
  self->codecs = g_ptr_array_new_with_free_func ((GDestroyNotify) dt_codec_free);
  for (guint i = 0; options->codecs && i < options->codecs->len; i++)
    g_ptr_array_add (self->codecs, dt_codec_copy (options->codecs->pdata[i]));
  su_init ();
  dt_sip_backend_prepare_process ();
  su_home_init (self->home);
  /* Every Sofia module without a logger of its own uses the default one,
   * and its level: 3 keeps warnings, among them the only report of a
   * failed TLS handshake. SOFIA_DEBUG still overrides it for debugging. */
  su_log_redirect (NULL, log_sofia, self);
  if (g_getenv ("SOFIA_DEBUG") == NULL)
    su_log_set_level (NULL, 3);

  self->root = su_glib_root_create (self);
  if (self->root == NULL)
    {
      g_set_error_literal (error, DT_ERROR, DT_ERROR_FAILED, "cannot create the SIP stack's event loop");
      return NULL;
    }
  /* All callbacks on this thread: without this every nua starts a thread. */
  su_root_threading (self->root, 0);
  self->source = su_glib_root_gsource (self->root);
  g_source_attach (self->source, NULL);
  return g_steal_pointer (&self);
}

SipAccount *
dt_sip_backend_account_of (DtSipBackend *self,
                           DtAccount    *account)
{
  return g_hash_table_lookup (self->accounts, account);
}
