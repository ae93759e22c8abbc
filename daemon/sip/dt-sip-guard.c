#include "dt-sip-guard.h"

#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/random.h>
#include <sys/socket.h>

#include <sofia-sip/msg_addr.h>
#include <sofia-sip/nta_tag.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/url.h>

#include "dt-sip-resolver.h"

/* Bounds the table under a flood from many addresses; past it, requests
 * from sources it cannot track are refused like those over their budget. */
#define MAX_SOURCES 4096
#define SWEEP_USEC (30 * G_USEC_PER_SEC)
/* A full table is swept for a newcomer at most this often: a flood from
 * ever new addresses must not buy a sweep with every packet. */
#define FULL_SWEEP_USEC (G_USEC_PER_SEC / 10)
#define RETRY_AFTER_SECONDS "5"
/* Unanswered incoming INVITEs per account past which nta answers 503
 * itself, statelessly, before any transaction or handle exists. */
#define MAX_PROCEEDING 32
/* What a UDP datagram can carry; without a bound Sofia buffers up to
 * 2 MiB of a message on a TCP or TLS connection. */
#define MAX_MESSAGE_SIZE 65535
/* Every refused INVITE that Sofia answers over UDP is answered again and
 * again until its ACK or Timer H (it keeps a sorted list of these
 * retransmissions: thousands of them cost it more than the requests).
 * Past this many refusals a second (all accounts together) a refused
 * INVITE is held unanswered instead, up to MAX_PROCEEDING per account,
 * and answered after HOLD_USEC: once the account's proceeding queue is
 * full, Sofia answers every further INVITE itself, statelessly, once. */
#define REFUSAL_RATE 50.0
#define REFUSAL_BURST 200.0
#define HOLD_USEC (2 * G_USEC_PER_SEC)
/* Refusals are logged once, then summed up at most every this often. */
#define SUMMARY_SECONDS 10
#define FORBIDDEN_LINES 10
/* The Contact parameter carrying our key, as other softphones name it
 * (X-Lite, Zoiper), which registrars and SBCs pass through untouched. */
#define KEY_PARAM "rinstance"

typedef struct {
  double tokens;
  gint64 seen_usec;
} Bucket;

/* Log lines for one kind of refusal within a summary period. */
typedef struct {
  guint  lines;
  guint  suppressed;
  char  *last_source;
} LogGate;

struct _DtSipGuard {
  double      rate;         /* tokens a second; 0: no limit */
  double      burst;
  gint64      refill_usec;  /* an untouched bucket is full again after this */
  GHashTable *buckets;      /* source key → Bucket */
  Bucket      refusals;     /* answered refusals, all sources together */
  gint64      swept_usec;
  guint       summary_id;
  LogGate     limited;      /* 503 */
  LogGate     forbidden;    /* 403 */
};

typedef struct {
  guint8  bytes[16];
  gsize   len;              /* 4 (IPv4, also when IPv4-mapped) or 16 */
  guint16 port;
} Address;

typedef struct {
  Address  address;
  gboolean stream;          /* came over TCP or TLS */
  char     text[INET6_ADDRSTRLEN + 16];
} Source;

typedef struct {
  nua_handle_t *nh;
  int           status;
  gint64        until_usec;
} Held;

struct _SipTrust {
  char         *contact_key;
  GArray       *next_hops;  /* Address */
  GCancellable *resolving;  /* an outbound proxy without a registrar */
  GQueue        held;       /* Held: refused INVITEs not answered yet, oldest first */
  guint         held_id;
};

DtSipGuard *
dt_sip_guard_new (guint rate,
                  guint burst)
{
  DtSipGuard *guard = g_new0 (DtSipGuard, 1);

  guard->rate = rate;
  guard->burst = MAX (burst, 1);
  guard->refill_usec = rate > 0 ? (gint64) (guard->burst / guard->rate * G_USEC_PER_SEC) : 0;
  guard->refusals.tokens = REFUSAL_BURST;
  guard->refusals.seen_usec = g_get_monotonic_time ();
  guard->buckets = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  return guard;
}

void
dt_sip_guard_free (DtSipGuard *guard)
{
  g_clear_handle_id (&guard->summary_id, g_source_remove);
  g_hash_table_unref (guard->buckets);
  g_free (guard->limited.last_source);
  g_free (guard->forbidden.last_source);
  g_free (guard);
}

/* Logging ------------------------------------------------------------ */

static void
gate_sum_up (LogGate    *gate,
             const char *what)
{
  if (gate->suppressed > 0)
    g_message ("%u more %s in the last %u s (the latest from %s)", gate->suppressed, what,
               SUMMARY_SECONDS, gate->last_source);
  /* During a flood only the sums go on; after a quiet period the next
   * refusal gets its own line again. */
  else
    gate->lines = 0;
  gate->suppressed = 0;
}

static gboolean
on_summary (gpointer user_data)
{
  DtSipGuard *guard = user_data;

  gate_sum_up (&guard->limited, "requests refused (503, too many from their source)");
  gate_sum_up (&guard->forbidden, "unsolicited requests refused (403)");
  if (guard->limited.lines == 0 && guard->forbidden.lines == 0)
    {
      guard->summary_id = 0;
      return G_SOURCE_REMOVE;
    }
  return G_SOURCE_CONTINUE;
}

/* TRUE when this refusal gets a line of its own. */
static gboolean
gate_allows (DtSipGuard *guard,
             LogGate    *gate,
             guint       max_lines,
             const char *source)
{
  if (guard->summary_id == 0)
    guard->summary_id = g_timeout_add_seconds (SUMMARY_SECONDS, on_summary, guard);
  if (gate->lines < max_lines)
    {
      gate->lines++;
      return TRUE;
    }
  gate->suppressed++;
  g_free (gate->last_source);
  gate->last_source = g_strdup (source);
  return FALSE;
}

/* Addresses ---------------------------------------------------------- */

static gboolean
address_from_sockaddr (const struct sockaddr *addr,
                       socklen_t              len,
                       Address               *out)
{
  memset (out, 0, sizeof *out);
  if (addr->sa_family == AF_INET && len >= (socklen_t) sizeof (struct sockaddr_in))
    {
      const struct sockaddr_in *sin = (const struct sockaddr_in *) (const void *) addr;

      memcpy (out->bytes, &sin->sin_addr, 4);
      out->len = 4;
      out->port = ntohs (sin->sin_port);
      return TRUE;
    }
  if (addr->sa_family == AF_INET6 && len >= (socklen_t) sizeof (struct sockaddr_in6))
    {
      const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *) (const void *) addr;

      if (IN6_IS_ADDR_V4MAPPED (&sin6->sin6_addr))
        {
          memcpy (out->bytes, sin6->sin6_addr.s6_addr + 12, 4);
          out->len = 4;
        }
      else
        {
          memcpy (out->bytes, sin6->sin6_addr.s6_addr, 16);
          out->len = 16;
        }
      out->port = ntohs (sin6->sin6_port);
      return TRUE;
    }
  return FALSE;
}

static gboolean
address_from_text (const char *host,
                   guint16     port,
                   Address    *out)
{
  char buf[INET6_ADDRSTRLEN + 2];
  gsize len = strlen (host);

  memset (out, 0, sizeof *out);
  out->port = port;
  if (len >= 2 && host[0] == '[' && host[len - 1] == ']' && len - 2 < sizeof buf)
    {
      memcpy (buf, host + 1, len - 2);
      buf[len - 2] = '\0';
    }
  else if (len < sizeof buf)
    memcpy (buf, host, len + 1);
  else
    return FALSE;
  if (inet_pton (AF_INET, buf, out->bytes) == 1)
    {
      out->len = 4;
      return TRUE;
    }
  if (inet_pton (AF_INET6, buf, out->bytes) == 1)
    {
      out->len = 16;
      if (IN6_IS_ADDR_V4MAPPED ((const struct in6_addr *) (const void *) out->bytes))
        {
          memmove (out->bytes, out->bytes + 12, 4);
          out->len = 4;
        }
      return TRUE;
    }
  return FALSE;
}

static void
address_format (const Address *a,
                gboolean       with_port,
                char          *buf,
                gsize          size)
{
  char ip[INET6_ADDRSTRLEN];

  inet_ntop (a->len == 4 ? AF_INET : AF_INET6, a->bytes, ip, sizeof ip);
  if (!with_port)
    g_strlcpy (buf, ip, size);
  else if (a->len == 4)
    g_snprintf (buf, size, "%s:%u", ip, a->port);
  else
    g_snprintf (buf, size, "[%s]:%u", ip, a->port);
}

/* Where the request being delivered came from: the socket's peer, which
 * no header can forge. */
static gboolean
request_source (SipAccount *sa,
                Source     *src)
{
  msg_t *msg = nua_current_request (sa->nua);
  su_addrinfo_t *ai = msg != NULL ? msg_addrinfo (msg) : NULL;

  memset (src, 0, sizeof *src);
  if (ai == NULL || ai->ai_addr == NULL ||
      !address_from_sockaddr ((const struct sockaddr *) (const void *) ai->ai_addr,
                              (socklen_t) ai->ai_addrlen, &src->address))
    {
      g_strlcpy (src->text, "an unknown address", sizeof src->text);
      return FALSE;
    }
  src->stream = ai->ai_protocol != IPPROTO_UDP;
  address_format (&src->address, TRUE, src->text, sizeof src->text);
  return TRUE;
}

/* Budgets ------------------------------------------------------------ */

/* One bucket per IPv4 address, and per IPv6 /64: a host holds a whole
 * /64, so counting its addresses one by one would bound nothing. */
static void
bucket_key (const Address *a,
            char          *buf,
            gsize          size)
{
  Address prefix = *a;

  if (a->len == 16)
    memset (prefix.bytes + 8, 0, 8);
  address_format (&prefix, FALSE, buf, size);
  if (a->len == 16)
    g_strlcat (buf, "/64", size);
}

static gboolean
bucket_take (Bucket *b,
             double  rate,
             double  burst,
             gint64  now)
{
  b->tokens = MIN (burst, b->tokens + (double) (now - b->seen_usec) * rate / G_USEC_PER_SEC);
  b->seen_usec = now;
  if (b->tokens < 1.0)
    return FALSE;
  b->tokens -= 1.0;
  return TRUE;
}

static void
sweep (DtSipGuard *guard,
       gint64      now)
{
  GHashTableIter iter;
  gpointer value;

  guard->swept_usec = now;
  g_hash_table_iter_init (&iter, guard->buckets);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    if (now - ((Bucket *) value)->seen_usec >= guard->refill_usec)
      g_hash_table_iter_remove (&iter);
}

static gboolean
take_token (DtSipGuard    *guard,
            const Address *source,
            gint64         now)
{
  char key[INET6_ADDRSTRLEN + 4];
  Bucket *b;

  if (guard->rate == 0)
    return TRUE;
  bucket_key (source, key, sizeof key);
  if (now - guard->swept_usec >= SWEEP_USEC ||
      (g_hash_table_size (guard->buckets) >= MAX_SOURCES && now - guard->swept_usec >= FULL_SWEEP_USEC &&
       !g_hash_table_contains (guard->buckets, key)))
    sweep (guard, now);
  b = g_hash_table_lookup (guard->buckets, key);
  if (b == NULL)
    {
      if (g_hash_table_size (guard->buckets) >= MAX_SOURCES)
        return FALSE;
      b = g_new (Bucket, 1);
      b->tokens = guard->burst;
      b->seen_usec = now;
      g_hash_table_insert (guard->buckets, g_strdup (key), b);
    }
  return bucket_take (b, guard->rate, guard->burst, now);
}

gboolean
dt_sip_guard_take_token (DtSipGuard            *guard,
                         const struct sockaddr *source,
                         gsize                  source_len,
                         gint64                 now_usec)
{
  Address a;

  return address_from_sockaddr (source, (socklen_t) source_len, &a) && take_token (guard, &a, now_usec);
}

guint
dt_sip_guard_n_sources (DtSipGuard *guard)
{
  return g_hash_table_size (guard->buckets);
}

/* Trust -------------------------------------------------------------- */

SipTrust *
dt_sip_trust_new (void)
{
  SipTrust *trust = g_new0 (SipTrust, 1);

  trust->next_hops = g_array_new (FALSE, TRUE, sizeof (Address));
  return trust;
}

void
dt_sip_trust_free (SipTrust *trust)
{
  /* Only when the stack is gone or going: its handles go with it. */
  g_queue_clear_full (&trust->held, g_free);
  g_clear_handle_id (&trust->held_id, g_source_remove);
  if (trust->resolving != NULL)
    g_cancellable_cancel (trust->resolving);
  g_clear_object (&trust->resolving);
  g_array_unref (trust->next_hops);
  g_free (trust->contact_key);
  g_free (trust);
}

static gboolean
trust_has (SipTrust      *trust,
           const Address *source,
           gboolean       stream)
{
  for (guint i = 0; trust != NULL && i < trust->next_hops->len; i++)
    {
      const Address *hop = &g_array_index (trust->next_hops, Address, i);

      /* Over TCP or TLS a server may open a connection of its own, from
       * any port; over UDP it sends from the port we send to. */
      if (hop->len == source->len && memcmp (hop->bytes, source->bytes, hop->len) == 0 &&
          (stream || hop->port == source->port))
        return TRUE;
    }
  return FALSE;
}

gboolean
dt_sip_trust_is_next_hop (SipTrust              *trust,
                          const struct sockaddr *source,
                          gsize                  source_len,
                          gboolean               stream)
{
  Address a;

  return address_from_sockaddr (source, (socklen_t) source_len, &a) && trust_has (trust, &a, stream);
}

static gboolean
is_next_hop (SipAccount   *sa,
             const Source *src)
{
  return trust_has (sa->trust, &src->address, src->stream);
}

/* The address Sofia sends to for a resolved URI: its maddr, else its
 * host, which the resolver left only when it is an IP literal. */
void
dt_sip_trust_add_next_hop (SipTrust   *trust,
                           const char *uri,
                           const char *transport)
{
  su_home_t home[1] = { SU_HOME_INIT (home) };
  url_t *url = uri != NULL ? url_make (home, uri) : NULL;
  char maddr[INET6_ADDRSTRLEN + 3];
  char param[8];
  const char *host;
  gboolean tls;
  guint16 port;
  Address hop;

  if (url == NULL || url->url_host == NULL)
    goto out;
  host = url->url_params != NULL && url_param (url->url_params, "maddr", maddr, sizeof maddr) > 0
           ? maddr : url->url_host;
  tls = url->url_type == url_sips || g_strcmp0 (transport, "tls") == 0 ||
        (url->url_params != NULL && url_param (url->url_params, "transport", param, sizeof param) > 0 &&
         g_ascii_strcasecmp (param, "tls") == 0);
  port = url->url_port != NULL ? (guint16) g_ascii_strtoull (url->url_port, NULL, 10) : (tls ? 5061 : 5060);
  if (address_from_text (host, port, &hop))
    g_array_append_val (trust->next_hops, hop);
  else
    g_debug ("next hop %s has no IP address to trust", uri);
out:
  su_home_deinit (home);
}

void
dt_sip_guard_set_next_hops (SipAccount *sa,
                            const char *registrar,
                            const char *next_hop)
{
  const char *transport = dt_account_get_transport (sa->account);

  g_array_set_size (sa->trust->next_hops, 0);
  dt_sip_trust_add_next_hop (sa->trust, registrar, transport);
  if (g_strcmp0 (registrar, next_hop) != 0)
    dt_sip_trust_add_next_hop (sa->trust, next_hop, transport);
}

static void
on_proxy_resolved (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *proxy = dt_sip_resolve_uri_finish (result, &error);
  SipAccount *sa = user_data;

  /* Cancelled: the account may be gone. */
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  g_clear_object (&sa->trust->resolving);
  if (proxy == NULL)
    {
      g_message ("Account %s: cannot resolve the outbound proxy (%s): calls through it will be refused",
                 sa->id, error->message);
      return;
    }
  g_array_set_size (sa->trust->next_hops, 0);
  dt_sip_trust_add_next_hop (sa->trust, proxy, dt_account_get_transport (sa->account));
}

static char *
new_contact_key (void)
{
  guint8 raw[12];
  GString *key = g_string_sized_new (2 * sizeof raw);

  if (getrandom (raw, sizeof raw, 0) != (ssize_t) sizeof raw)
    for (gsize i = 0; i < sizeof raw; i++)
      raw[i] = (guint8) g_random_int ();
  for (gsize i = 0; i < sizeof raw; i++)
    g_string_append_printf (key, "%02x", raw[i]);
  return g_string_free (key, FALSE);
}

void
dt_sip_guard_account_start (SipAccount *sa)
{
  const DtSettings *settings = dt_account_get_settings (sa->account);
  const char *registrar = dt_settings_get_string (settings, "registrar");
  const char *proxy = dt_settings_get_string (settings, "outbound-proxy");
  g_autofree char *key_param = NULL;
  SipTrust *trust = dt_sip_trust_new ();

  sa->trust = trust;
  /* Only a registered Contact can carry the key to those who may use it;
   * without a registrar it would only reach the parties of our calls. */
  if (registrar != NULL)
    {
      trust->contact_key = new_contact_key ();
      key_param = g_strdup_printf (KEY_PARAM "=%s", trust->contact_key);
    }
  nua_set_params (sa->nua,
                  TAG_IF (key_param != NULL, NUTAG_M_PARAMS (key_param)),
                  /* nua would accept any REFER (202) before we see it. */
                  NUTAG_APPL_METHOD ("REFER"),
                  NTATAG_MAX_PROCEEDING (MAX_PROCEEDING),
                  NTATAG_MAXSIZE (MAX_MESSAGE_SIZE),
                  TAG_END ());

  if (registrar == NULL && proxy != NULL)
    {
      trust->resolving = g_cancellable_new ();
      dt_sip_resolve_uri_async (proxy, dt_account_get_transport (sa->account), trust->resolving,
                                on_proxy_resolved, sa);
    }
  if (registrar == NULL && proxy == NULL && !dt_settings_get_boolean (settings, "allow-direct-calls"))
    g_message ("Account %s: no registrar or outbound proxy to take calls from: incoming calls will be "
               "refused (allow-direct-calls=true takes direct calls)", sa->id);
}

void
dt_sip_guard_account_free (SipAccount *sa)
{
  g_clear_pointer (&sa->trust, dt_sip_trust_free);
}

/* The Request-URI is the Contact we registered, key included: the
 * registrar (or a party of one of our calls) sent it. */
static gboolean
carries_contact_key (SipAccount  *sa,
                     sip_t const *sip)
{
  const char *key = sa->trust != NULL ? sa->trust->contact_key : NULL;
  const url_t *ruri = sip->sip_request != NULL ? sip->sip_request->rq_url : NULL;
  char value[64];
  isize_t len;

  if (key == NULL || ruri == NULL || ruri->url_params == NULL)
    return FALSE;
  len = url_param (ruri->url_params, KEY_PARAM, value, sizeof value);
  return len > 0 && (gsize) len < sizeof value && strcmp (value, key) == 0;
}

/* Requests ----------------------------------------------------------- */

static gboolean
destroy_handle_later (gpointer user_data)
{
  nua_handle_destroy (user_data);
  return G_SOURCE_REMOVE;
}

static gboolean answer_held (gpointer user_data);

static void
arm_held_timer (SipAccount *sa)
{
  Held *next = g_queue_peek_head (&sa->trust->held);
  gint64 wait;

  g_clear_handle_id (&sa->trust->held_id, g_source_remove);
  if (next == NULL)
    return;
  wait = MAX (0, next->until_usec - g_get_monotonic_time ());
  sa->trust->held_id = g_timeout_add ((guint) (wait / 1000) + 1, answer_held, sa);
}

static gboolean
answer_held (gpointer user_data)
{
  SipAccount *sa = user_data;
  gint64 now = g_get_monotonic_time ();
  Held *h;

  sa->trust->held_id = 0;
  while ((h = g_queue_peek_head (&sa->trust->held)) != NULL && h->until_usec <= now)
    {
      g_queue_pop_head (&sa->trust->held);
      nua_respond (h->nh, h->status, sip_status_phrase (h->status),
                   TAG_IF (h->status == 503, SIPTAG_RETRY_AFTER_STR (RETRY_AFTER_SECONDS)), TAG_END ());
      nua_handle_destroy (h->nh);
      g_free (h);
    }
  arm_held_timer (sa);
  return G_SOURCE_REMOVE;
}

/* Answers a new INVITE with @status (403, 503), now, or later when too
 * many have been answered lately (see REFUSAL_RATE). */
static void
refuse_invite (SipAccount   *sa,
               nua_handle_t *nh,
               int           status)
{
  DtSipGuard *guard = sa->backend->guard;
  gint64 now = g_get_monotonic_time ();

  if (!bucket_take (&guard->refusals, REFUSAL_RATE, REFUSAL_BURST, now) &&
      g_queue_get_length (&sa->trust->held) < MAX_PROCEEDING)
    {
      Held *h = g_new (Held, 1);

      h->nh = nh;
      h->status = status;
      h->until_usec = now + HOLD_USEC;
      /* Its events are ignored, as those of a finished call's handle. */
      nua_handle_bind (nh, (nua_hmagic_t *) sa->backend);
      g_queue_push_tail (&sa->trust->held, h);
      if (sa->trust->held_id == 0)
        arm_held_timer (sa);
      return;
    }
  nua_respond (nh, status, sip_status_phrase (status),
               TAG_IF (status == 503, SIPTAG_RETRY_AFTER_STR (RETRY_AFTER_SECONDS)), TAG_END ());
  g_idle_add (destroy_handle_later, nh);
}

static gboolean
is_request (nua_event_t event)
{
  switch (event)
    {
    case nua_i_invite:
    case nua_i_cancel:
    case nua_i_ack:
    case nua_i_bye:
    case nua_i_info:
    case nua_i_update:
    case nua_i_prack:
    case nua_i_options:
    case nua_i_message:
    case nua_i_refer:
    case nua_i_notify:
    case nua_i_subscribe:
    case nua_i_publish:
    case nua_i_register:
    case nua_i_method:
      return TRUE;
    default:
      return FALSE;
    }
}

static gboolean
screen_refer (SipAccount   *sa,
              nua_handle_t *nh,
              nua_hmagic_t *hmagic)
{
  DtSipGuard *guard = sa->backend->guard;
  Source src;

  if (hmagic == NULL)
    {
      /* It would have us call anyone on anyone's behalf. */
      request_source (sa, &src);
      if (gate_allows (guard, &guard->forbidden, FORBIDDEN_LINES, src.text))
        g_message ("Account %s: REFER outside a call from %s refused (403)", sa->id, src.text);
      nua_respond (nh, SIP_403_FORBIDDEN, NUTAG_WITH_THIS (sa->nua), TAG_END ());
      g_idle_add (destroy_handle_later, nh);
      return TRUE;
    }
  if (hmagic == (nua_hmagic_t *) sa || hmagic == (nua_hmagic_t *) sa->backend)
    {
      /* The call is over; its handle only waits to be destroyed. */
      nua_respond (nh, SIP_481_NO_TRANSACTION, NUTAG_WITH_THIS (sa->nua), TAG_END ());
      return TRUE;
    }
  /* In a call: accepted as nua used to by itself; the transfer reports
   * how it went in NOTIFYs. */
  nua_respond (nh, SIP_202_ACCEPTED, NUTAG_WITH_THIS (sa->nua), TAG_END ());
  return FALSE;
}

gboolean
dt_sip_guard_screen (SipAccount   *sa,
                     nua_event_t   event,
                     int           status,
                     nua_handle_t *nh,
                     nua_hmagic_t *hmagic,
                     sip_t const  *sip)
{
  DtSipGuard *guard = sa->backend->guard;
  Source src;

  if (nh == NULL || !is_request (event))
    return FALSE;

  /* A request opening a transaction outside any dialog: the kind a flood
   * is made of. */
  if (hmagic == NULL && nh != sa->reg && request_source (sa, &src) && !is_next_hop (sa, &src) &&
      !take_token (guard, &src.address, g_get_monotonic_time ()))
    {
      if (gate_allows (guard, &guard->limited, 1, src.text))
        g_message ("Account %s: too many requests from %s (over %.0f at once or %.0f a second): "
                   "refusing them with 503 for now", sa->id, src.text, guard->burst, guard->rate);
      /* nua has answered some by itself already (OPTIONS, MESSAGE...);
       * that answer cost what a 503 would. */
      if (status >= 200)
        return FALSE;
      if (event == nua_i_invite)
        refuse_invite (sa, nh, 503);
      else
        {
          nua_respond (nh, SIP_503_SERVICE_UNAVAILABLE, SIPTAG_RETRY_AFTER_STR (RETRY_AFTER_SECONDS),
                       NUTAG_WITH_THIS (sa->nua), TAG_END ());
          g_idle_add (destroy_handle_later, nh);
        }
      return TRUE;
    }

  if (event == nua_i_refer && status < 200)
    return screen_refer (sa, nh, hmagic);
  return FALSE;
}

gboolean
dt_sip_guard_admit_invite (SipAccount   *sa,
                           nua_handle_t *nh,
                           sip_t const  *sip)
{
  DtSipGuard *guard = sa->backend->guard;
  g_autofree char *from = NULL;
  gboolean known_source;
  Source src;

  /* The caller refuses these for reasons of its own. */
  if (sa->account == NULL || sip == NULL || sip->sip_request == NULL)
    return TRUE;
  if (dt_settings_get_boolean (dt_account_get_settings (sa->account), "allow-direct-calls"))
    return TRUE;
  known_source = request_source (sa, &src);
  if ((known_source && is_next_hop (sa, &src)) || carries_contact_key (sa, sip))
    return TRUE;
  if (sip->sip_replaces != NULL && dt_sip_transfer_find_replaced (sa->backend, sip) != NULL)
    return TRUE;

  if (gate_allows (guard, &guard->forbidden, FORBIDDEN_LINES, src.text))
    {
      const DtSettings *settings = dt_account_get_settings (sa->account);
      gboolean has_next_hop = dt_settings_get_string (settings, "registrar") != NULL ||
                              dt_settings_get_string (settings, "outbound-proxy") != NULL;

      from = sip->sip_from != NULL ? url_as_string (NULL, sip->sip_from->a_url) : NULL;
      g_message ("Account %s: INVITE from %s (sent from %s) refused (403): %s, and allow-direct-calls "
                 "is false", sa->id, from != NULL ? from : "nobody", src.text,
                 has_next_hop ? "not from the registrar or outbound proxy"
                              : "no registrar or outbound proxy to take calls from");
    }
  refuse_invite (sa, nh, 403);
  return FALSE;
}
