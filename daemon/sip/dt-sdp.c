#include "dt-sdp.h"

#include <stdlib.h>
#include <string.h>

#include <gio/gio.h>

#include <sofia-sip/su_config.h>
#include <sofia-sip/sofia_features.h>
#include <sofia-sip/su_alloc.h>
#include <sofia-sip/sdp.h>

#include "core/dt-error.h"

/* Limits on what a peer can make us hold: far above any real phone. */
#define MAX_CODECS 32
#define MAX_CRYPTOS 32

/* Text from the peer's SDP quoted in an error: the message becomes a log
 * line and the quoted-string of our 488's Warning header, so only
 * printable ASCII without quotes or backslashes, and not much of it. */
static char *
tame (const char *text)
{
  GString *out = g_string_new (NULL);

  for (const char *p = text ? text : ""; *p && out->len < 80; p++)
    g_string_append_c (out, *p >= 0x20 && *p < 0x7f && *p != '"' && *p != '\\' ? *p : '?');
  if (text && strlen (text) > out->len)
    g_string_append (out, "...");
  return g_string_free (out, FALSE);
}

/* Sofia-SIP 1.12.11 (Debian 12) loops allocating list entries until memory
 * runs out when, in the format list of an m= line, a format does not start
 * with a token character: "m=video 1 UDP (" or "m=audio 1X /Y 0" take 20
 * bytes and gigabytes. (Later Sofia stops there.) So we walk each m= line
 * the way its parse_media() does and refuse the SDP where it would not
 * advance, before Sofia sees it. Sofia's RTP path does not loop, but an
 * RTP line that fails this walk is one it refuses anyway. */
#define SDP_TOKEN "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-!#$%&'*+.^_`{|}~"

/* Sofia's token(): after @strip, a run of @legal; the character after it,
 * whatever it is, goes too, then a run of @sep. NULL (and Sofia does not
 * advance) when the run is empty. */
static const char *
sofia_token (const char *r,
             const char *sep,
             const char *legal,
             const char *strip)
{
  gsize n;

  if (strip != NULL)
    r += strspn (r, strip);
  n = strspn (r, legal);
  if (n == 0)
    return NULL;
  if (r[n] != '\0')
    {
      n++;
      n += strspn (r + n, sep);
    }
  return r + n;
}

/* Sofia's parse_ul(), NULL where it fails. */
static const char *
sofia_number (const char *r)
{
  char *end;

  r += strspn (r, " \t");
  (void) strtoul (r, &end, 10);
  if (end == r)
    return NULL;
  return end + strspn (end, " \t");
}

static gboolean
media_line_is_safe (const char *r)
{
  if ((r = sofia_token (r, " ", SDP_TOKEN, NULL)) == NULL ||
      (r = sofia_number (r)) == NULL ||
      (*r == '/' && (r = sofia_number (r + 1)) == NULL) ||
      (r = sofia_token (r, " ", "/" SDP_TOKEN, " ")) == NULL)
    return TRUE;  /* Sofia stops there with an error */
  while (*r != '\0')
    if ((r = sofia_token (r, " \t", SDP_TOKEN, " \t")) == NULL)
      return FALSE;
  return TRUE;
}

/* Lines split as Sofia splits them: at CR or LF, up to a NUL. */
static gboolean
media_lines_are_safe (const char *text,
                      gsize       length)
{
  const char *nul = memchr (text, '\0', length);
  const char *end = nul ? nul : text + length;

  for (const char *line = text; line < end; )
    {
      const char *eol = line;

      while (eol < end && *eol != '\r' && *eol != '\n')
        eol++;
      if (eol - line >= 2 && line[0] == 'm' && line[1] == '=')
        {
          g_autofree char *media = g_strndup (line + 2, eol - line - 2);

          if (!media_line_is_safe (media))
            return FALSE;
        }
      line = eol + 1;
    }
  return TRUE;
}

static gboolean
is_ip_literal (const char *address)
{
  g_autoptr(GInetAddress) inet = address ? g_inet_address_new_from_string (address) : NULL;

  return inet != NULL;
}

static guint
rtpmap_channels (const sdp_rtpmap_t *rm)
{
  guint64 channels = 1;

  if (rm->rm_params && *rm->rm_params &&
      !g_ascii_string_to_unsigned (rm->rm_params, 10, 1, 8, &channels, NULL))
    return 0;
  return (guint) channels;
}

static const char *
find_attribute (const sdp_attribute_t *a,
                const char            *name)
{
  for (; a != NULL; a = a->a_next)
    if (a->a_name && g_ascii_strcasecmp (a->a_name, name) == 0)
      return a->a_value ? a->a_value : "";
  return NULL;
}

/* Key parameters: "inline:" base64 of key and salt, an optional lifetime
 * (decimal or 2^N: we never send that many packets), no MKI. */
static gboolean
parse_key_params (const char  *params,
                  DtCrypto    *crypto,
                  GError     **error)
{
  g_auto(GStrv) fields = NULL;
  g_autofree guchar *key = NULL;
  gsize key_length = 0, expected = dt_crypto_suite_key_length (crypto->suite);
  const char *text;

  if (strchr (params, ';') != NULL)
    {
      g_set_error_literal (error, DT_ERROR, DT_ERROR_NOT_SUPPORTED, "several master keys (MKI) are not supported");
      return FALSE;
    }
  if (!g_str_has_prefix (params, "inline:"))
    {
      g_set_error (error, DT_ERROR, DT_ERROR_NOT_SUPPORTED, "key method of '%s' is not inline", params);
      return FALSE;
    }
  fields = g_strsplit (params + strlen ("inline:"), "|", 0);
  text = fields[0];
  /* g_base64_decode() skips what is not base64; a key must be nothing else. */
  if (text == NULL || *text == '\0' || strspn (text, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") != strlen (text) ||
      strlen (text) > 4 * ((DT_CRYPTO_MAX_KEY_LENGTH + 2) / 3))
    {
      g_set_error_literal (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS, "the key is not base64");
      return FALSE;
    }
  key = g_base64_decode (text, &key_length);
  if (key_length != expected)
    {
      explicit_bzero (key, key_length);
      g_set_error (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS, "the key is %" G_GSIZE_FORMAT " bytes, not %" G_GSIZE_FORMAT,
                   key_length, expected);
      return FALSE;
    }
  memcpy (crypto->key, key, key_length);
  explicit_bzero (key, key_length);

  for (guint i = 1; fields[i] != NULL; i++)
    {
      const char *field = fields[i];
      const char *digits = g_str_has_prefix (field, "2^") ? field + 2 : field;

      if (strchr (field, ':') != NULL)
        {
          g_set_error_literal (error, DT_ERROR, DT_ERROR_NOT_SUPPORTED, "MKI is not supported");
          return FALSE;
        }
      if (i > 1 || *digits == '\0' || strspn (digits, "0123456789") != strlen (digits))
        {
          g_set_error (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS, "malformed key parameter '%s'", field);
          return FALSE;
        }
    }
  return TRUE;
}

DtCrypto *
dt_sdp_parse_crypto (const char  *value,
                     GError     **error)
{
  g_autoptr(DtCrypto) crypto = g_new0 (DtCrypto, 1);
  g_auto(GStrv) pieces = NULL;
  g_autoptr(GPtrArray) words = NULL;
  const char * const *w;
  guint64 tag;
  guint count = 0;

  if (value == NULL)
    {
      g_set_error_literal (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS, "empty crypto attribute");
      return NULL;
    }
  /* Blanks separate the fields; peers send runs of them. */
  pieces = g_strsplit_set (value, " \t", 0);
  words = g_ptr_array_new ();
  for (guint i = 0; pieces[i] != NULL; i++)
    if (*pieces[i] != '\0')
      g_ptr_array_add (words, pieces[i]);
  count = words->len;
  w = (const char * const *) words->pdata;

  if (count < 3)
    {
      g_set_error (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS, "malformed crypto attribute '%s'", value);
      return NULL;
    }
  if (strlen (w[0]) > 9 || !g_ascii_string_to_unsigned (w[0], 10, 0, 999999999, &tag, NULL))
    {
      g_set_error (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS, "crypto tag '%s' is not a number up to 9 digits", w[0]);
      return NULL;
    }
  crypto->tag = (guint) tag;
  if (!dt_crypto_suite_from_string (w[1], &crypto->suite))
    {
      g_set_error (error, DT_ERROR, DT_ERROR_NOT_SUPPORTED, "crypto suite '%s' is not supported", w[1]);
      return NULL;
    }
  if (!parse_key_params (w[2], crypto, error))
    return NULL;
  /* Session parameters change how SRTP runs (RFC 4568 6.3); we implement
   * none, so a line that asks for one is one we cannot honour. */
  if (count > 3)
    {
      g_set_error (error, DT_ERROR, DT_ERROR_NOT_SUPPORTED, "crypto session parameter '%s' is not supported", w[3]);
      return NULL;
    }
  return g_steal_pointer (&crypto);
}

char *
dt_sdp_write_crypto (const DtCrypto *crypto)
{
  g_autofree char *key = g_base64_encode (crypto->key, dt_crypto_suite_key_length (crypto->suite));
  char *line = g_strdup_printf ("%u %s inline:%s", crypto->tag, dt_crypto_suite_to_string (crypto->suite), key);

  explicit_bzero (key, strlen (key));
  return line;
}

/* The first audio stream we can use: RTP/AVP, not refused, with a
 * connection address (media level first, then session level). */
DtMediaDescription *
dt_sdp_parse_audio (const char  *text,
                    gsize        length,
                    GError     **error)
{
  su_home_t home[1] = { SU_HOME_INIT (home) };
  g_autoptr(DtMediaDescription) desc = NULL;
  sdp_parser_t *parser;
  sdp_session_t *session;
  sdp_media_t *m;
  const sdp_connection_t *c;
  const char *value;

  if (text == NULL || length == 0)
    {
      g_set_error_literal (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS, "empty SDP");
      return NULL;
    }

  if (!media_lines_are_safe (text, length))
    {
      g_set_error_literal (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS,
                           "malformed SDP: an m= line has a format that is not a token");
      return NULL;
    }

  parser = sdp_parse (home, text, (issize_t) length, sdp_f_strict);
  session = sdp_session (parser);
  if (session == NULL)
    {
      g_autofree char *reason = tame (sdp_parsing_error (parser));

      g_set_error (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS, "malformed SDP: %s", reason);
      sdp_parser_free (parser);
      su_home_deinit (home);
      return NULL;
    }

  for (m = session->sdp_media; m != NULL; m = m->m_next)
    if (m->m_type == sdp_media_audio)
      break;
  if (m == NULL)
    {
      g_set_error_literal (error, DT_ERROR, DT_ERROR_NOT_SUPPORTED, "no audio stream in the SDP");
      goto fail;
    }
  if (m->m_rejected || m->m_port == 0)
    {
      g_set_error_literal (error, DT_ERROR, DT_ERROR_NOT_SUPPORTED, "the audio stream is refused (port 0)");
      goto fail;
    }
  if (m->m_proto != sdp_proto_rtp && m->m_proto != sdp_proto_srtp)
    {
      g_autofree char *proto = tame (m->m_proto_name);

      g_set_error (error, DT_ERROR, DT_ERROR_NOT_SUPPORTED, "unsupported audio transport '%s'", proto);
      goto fail;
    }
  if (m->m_port > 65535)
    {
      g_set_error (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS, "audio port %lu is out of range",
                   m->m_port);
      goto fail;
    }

  c = m->m_connections ? m->m_connections : session->sdp_connection;
  if (c == NULL || !is_ip_literal (c->c_address))
    {
      g_set_error_literal (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS,
                           "the audio stream has no IP connection address");
      goto fail;
    }

  desc = dt_media_description_new ();
  desc->address = g_strdup (c->c_address);
  desc->port = (guint) m->m_port;
  desc->rtcp_port = desc->port + 1;
  desc->direction = (DtMediaDirection) m->m_mode;
  if ((value = find_attribute (m->m_attributes, "rtcp")) != NULL)
    {
      guint64 port;
      g_auto(GStrv) words = g_strsplit (value, " ", 2);

      /* "a=rtcp:" with nothing after it splits into no words. */
      if (words[0] != NULL && g_ascii_string_to_unsigned (words[0], 10, 1, 65535, &port, NULL))
        desc->rtcp_port = (guint) port;
    }
  if (desc->rtcp_port > 65535)
    {
      /* Port 65535 leaves no port + 1 for RTCP (RFC 3550 11). */
      g_set_error_literal (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS,
                           "audio port 65535 leaves no RTCP port and there is no a=rtcp");
      goto fail;
    }
  desc->rtcp_mux = find_attribute (m->m_attributes, "rtcp-mux") != NULL;
  desc->secure_profile = m->m_proto == sdp_proto_srtp;
  for (sdp_attribute_t const *a = m->m_attributes; a != NULL; a = a->a_next)
    {
      g_autoptr(GError) crypto_error = NULL;
      DtCrypto *crypto;

      if (a->a_name == NULL || g_ascii_strcasecmp (a->a_name, "crypto") != 0)
        continue;
      if (desc->cryptos->len + desc->unusable_cryptos >= MAX_CRYPTOS)
        break;
      if ((crypto = dt_sdp_parse_crypto (a->a_value, &crypto_error)) != NULL)
        g_ptr_array_add (desc->cryptos, crypto);
      else
        {
          g_debug ("SDP: crypto line skipped: %s", crypto_error->message);
          desc->unusable_cryptos++;
        }
    }
  if ((value = find_attribute (m->m_attributes, "ptime")) != NULL)
    {
      guint64 ptime;
      if (g_ascii_string_to_unsigned (value, 10, 1, 1000, &ptime, NULL))
        desc->ptime = (guint) ptime;
    }

  for (sdp_rtpmap_t const *rm = m->m_rtpmaps; rm != NULL; rm = rm->rm_next)
    {
      guint channels = rtpmap_channels (rm);

      /* Entries without a name or rate are formats we know nothing about. */
      if (rm->rm_encoding == NULL || *rm->rm_encoding == '\0' || rm->rm_rate == 0 ||
          rm->rm_rate > 192000 || channels == 0 || rm->rm_any)
        continue;
      /* A format listed twice ("m=audio 4000 RTP/AVP 0 0") is one format:
       * the media layer maps payload types to codecs. */
      if (dt_media_description_find_pt (desc, rm->rm_pt) != NULL)
        continue;
      if (desc->codecs->len >= MAX_CODECS)
        break;
      g_ptr_array_add (desc->codecs, dt_codec_new (rm->rm_encoding, rm->rm_pt, (guint) rm->rm_rate,
                                                   channels, rm->rm_fmtp));
    }

  sdp_parser_free (parser);
  su_home_deinit (home);
  return g_steal_pointer (&desc);

fail:
  sdp_parser_free (parser);
  su_home_deinit (home);
  return NULL;
}

static const char *
address_type (const char *address)
{
  return strchr (address, ':') != NULL ? "IP6" : "IP4";
}

char *
dt_sdp_write (const DtMediaDescription *desc,
              guint64                   session_id,
              guint64                   session_version)
{
  GString *sdp = g_string_new (NULL);
  const char *type = address_type (desc->address);

  g_string_append_printf (sdp, "v=0\r\n"
                          "o=- %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT " IN %s %s\r\n"
                          "s=Dialtone\r\n"
                          "c=IN %s %s\r\n"
                          "t=0 0\r\n"
                          "m=audio %u %s",
                          session_id, session_version, type, desc->address,
                          type, desc->address, desc->port, desc->secure_profile ? "RTP/SAVP" : "RTP/AVP");
  for (guint i = 0; i < desc->codecs->len; i++)
    g_string_append_printf (sdp, " %u", ((DtCodec *) desc->codecs->pdata[i])->payload_type);
  g_string_append (sdp, "\r\n");

  for (guint i = 0; i < desc->codecs->len; i++)
    {
      const DtCodec *codec = desc->codecs->pdata[i];
      g_autofree char *map = dt_codec_to_string (codec);

      g_string_append_printf (sdp, "a=rtpmap:%u %s\r\n", codec->payload_type, map);
      if (codec->fmtp != NULL && *codec->fmtp != '\0')
        g_string_append_printf (sdp, "a=fmtp:%u %s\r\n", codec->payload_type, codec->fmtp);
    }
  if (desc->port != 0)
    {
      g_string_append_printf (sdp, "a=rtcp:%u\r\n", desc->rtcp_port ? desc->rtcp_port : desc->port + 1);
      if (desc->ptime != 0)
        g_string_append_printf (sdp, "a=ptime:%u\r\n", desc->ptime);
      for (guint i = 0; i < desc->cryptos->len; i++)
        {
          g_autofree char *crypto = dt_sdp_write_crypto (desc->cryptos->pdata[i]);

          g_string_append_printf (sdp, "a=crypto:%s\r\n", crypto);
          explicit_bzero (crypto, strlen (crypto));
        }
    }
  g_string_append_printf (sdp, "a=%s\r\n", dt_media_direction_to_string (desc->direction));
  return g_string_free (sdp, FALSE);
}

static const DtCodec *
find_format_in (GPtrArray     *codecs,
                const DtCodec *like)
{
  for (guint i = 0; i < codecs->len; i++)
    if (dt_codec_same_format (codecs->pdata[i], like))
      return codecs->pdata[i];
  return NULL;
}

static const DtCodec *
find_format (const DtMediaDescription *desc,
             const DtCodec            *like)
{
  return find_format_in (desc->codecs, like);
}

/* telephone-event at the audio codec's clock rate if both have it, else at
 * 8000 Hz (RFC 4733 events are independent of the audio). */
static const DtCodec *
find_telephone_event (const DtMediaDescription *desc,
                      guint                     clock_rate)
{
  const DtCodec *any = NULL;

  for (guint i = 0; i < desc->codecs->len; i++)
    {
      const DtCodec *c = desc->codecs->pdata[i];
      if (!dt_codec_is_telephone_event (c))
        continue;
      if (c->clock_rate == clock_rate)
        return c;
      if (any == NULL || c->clock_rate == 8000)
        any = c;
    }
  return any;
}

/* The formats both sides have, ours first, each with the payload type
 * @numbered's side used. Audio codecs in @order's preference; at most one
 * telephone-event, last. */
static void
common_codecs (const DtMediaDescription *order,
               const DtMediaDescription *other,
               gboolean                  numbers_from_other,
               GPtrArray                *out_order_side,
               GPtrArray                *out_other_side)
{
  const DtCodec *first_audio = NULL;

  for (guint i = 0; i < order->codecs->len; i++)
    {
      const DtCodec *mine = order->codecs->pdata[i];
      const DtCodec *theirs;
      DtCodec *a, *b;

      if (dt_codec_is_telephone_event (mine) || (theirs = find_format (other, mine)) == NULL)
        continue;
      /* The same format under two payload types is used once, under the
       * first: a second would give one side a type the other never sends. */
      if (find_format_in (out_order_side, mine) != NULL)
        continue;
      if (first_audio == NULL)
        first_audio = mine;
      a = dt_codec_copy (mine);
      b = dt_codec_copy (theirs);
      if (numbers_from_other)
        a->payload_type = theirs->payload_type;
      g_ptr_array_add (out_order_side, a);
      g_ptr_array_add (out_other_side, b);
    }

  if (first_audio != NULL)
    {
      const DtCodec *mine = find_telephone_event (order, first_audio->clock_rate);
      const DtCodec *theirs = mine ? find_telephone_event (other, mine->clock_rate) : NULL;

      if (mine != NULL && theirs != NULL && dt_codec_same_format (mine, theirs))
        {
          DtCodec *a = dt_codec_copy (mine);

          if (numbers_from_other)
            a->payload_type = theirs->payload_type;
          g_ptr_array_add (out_order_side, a);
          g_ptr_array_add (out_other_side, dt_codec_copy (theirs));
        }
    }
}

static char *
suite_names (const DtMediaDescription *desc)
{
  GString *names = g_string_new (NULL);

  for (guint i = 0; i < desc->cryptos->len; i++)
    g_string_append_printf (names, "%s%s", i ? ", " : "",
                            dt_crypto_suite_to_string (((DtCrypto *) desc->cryptos->pdata[i])->suite));
  if (names->len == 0)
    g_string_append (names, desc->unusable_cryptos ? "none we support" : "none");
  return g_string_free (names, FALSE);
}

/* The answerer picks the first offered suite it has (RFC 4568 7.1.2): our
 * key for that suite, under the offer's tag. */
static gboolean
choose_crypto (const DtMediaDescription *offer,
               const DtMediaDescription *capabilities,
               DtMediaDescription       *answer,
               DtMediaDescription       *theirs)
{
  for (guint i = 0; i < offer->cryptos->len; i++)
    {
      const DtCrypto *offered = offer->cryptos->pdata[i];

      for (guint j = 0; j < capabilities->cryptos->len; j++)
        {
          const DtCrypto *mine = capabilities->cryptos->pdata[j];

          if (mine->suite == offered->suite)
            {
              DtCrypto *ours = dt_crypto_copy (mine);

              ours->tag = offered->tag;
              g_ptr_array_add (answer->cryptos, ours);
              g_ptr_array_add (theirs->cryptos, dt_crypto_copy (offered));
              return TRUE;
            }
        }
    }
  return FALSE;
}

/* Encryption for our answer under the capabilities' policy. */
static gboolean
answer_encryption (const DtMediaDescription  *offer,
                   const DtMediaDescription  *capabilities,
                   DtMediaDescription        *answer,
                   DtMediaDescription        *theirs,
                   GError                   **error)
{
  g_ptr_array_set_size (theirs->cryptos, 0);
  answer->secure_profile = offer->secure_profile;
  if (capabilities->encryption == DT_MEDIA_ENCRYPTION_NONE)
    {
      if (!offer->secure_profile)
        return TRUE;
      g_set_error_literal (error, DT_ERROR, DT_ERROR_NOT_SUPPORTED,
                           "SRTP (RTP/SAVP) is offered and media encryption is off");
      return FALSE;
    }
  if (choose_crypto (offer, capabilities, answer, theirs))
    return TRUE;
  if (offer->secure_profile || offer->cryptos->len > 0 || offer->unusable_cryptos > 0)
    {
      g_autofree char *offered = suite_names (offer);

      /* Best-effort SRTP in RTP/AVP falls back to plain RTP. */
      if (!offer->secure_profile && capabilities->encryption == DT_MEDIA_ENCRYPTION_OPTIONAL)
        return TRUE;
      g_set_error (error, DT_ERROR, DT_ERROR_NOT_SUPPORTED, "no SRTP crypto suite in common (offered: %s)", offered);
      return FALSE;
    }
  if (capabilities->encryption == DT_MEDIA_ENCRYPTION_MANDATORY)
    {
      g_set_error_literal (error, DT_ERROR, DT_ERROR_NOT_SUPPORTED,
                           "the offer is not encrypted and media encryption is mandatory");
      return FALSE;
    }
  return TRUE;
}

/* We answer @offer with what @capabilities allow (our address, port,
 * codecs in our preference and the direction we want). Our answer uses the
 * offer's payload type numbers for the formats we share (RFC 3264 6.1). */
gboolean
dt_sdp_answer (const DtMediaDescription  *offer,
               const DtMediaDescription  *capabilities,
               DtMediaDescription       **local_answer,
               DtMediaDescription       **remote,
               GError                   **error)
{
  g_autoptr(DtMediaDescription) answer = dt_media_description_new ();
  g_autoptr(DtMediaDescription) theirs = dt_media_description_copy (offer);

  g_ptr_array_set_size (theirs->codecs, 0);
  common_codecs (capabilities, offer, TRUE, answer->codecs, theirs->codecs);
  if (dt_media_description_audio_codec (answer) == NULL)
    {
      g_autoptr(GString) offered = g_string_new (NULL);

      for (guint i = 0; i < offer->codecs->len; i++)
        {
          g_autofree char *map = dt_codec_to_string (offer->codecs->pdata[i]);
          g_autofree char *name = tame (map);

          g_string_append_printf (offered, "%s%s", i ? ", " : "", name);
        }
      g_set_error (error, DT_ERROR, DT_ERROR_NOT_SUPPORTED, "no common audio codec (offered: %s)",
                   offered->len ? offered->str : "none we know");
      return FALSE;
    }

  if (!answer_encryption (offer, capabilities, answer, theirs, error))
    return FALSE;

  answer->encryption = capabilities->encryption;
  answer->address = g_strdup (capabilities->address);
  answer->port = capabilities->port;
  answer->rtcp_port = capabilities->rtcp_port;
  answer->ptime = capabilities->ptime;
  /* Whatever they will not send, we will not receive, and so on. */
  answer->direction = capabilities->direction & dt_media_direction_reverse (offer->direction);

  *local_answer = g_steal_pointer (&answer);
  *remote = g_steal_pointer (&theirs);
  return TRUE;
}

/* The answer to our offer: the formats it kept (in its order, RFC 3264
 * says the answerer's preference wins), with our payload type numbers on
 * our side. A codec the answer adds that we never offered is an error. */
gboolean
dt_sdp_accept_answer (const DtMediaDescription  *local_offer,
                      const DtMediaDescription  *answer,
                      DtMediaDescription       **local,
                      DtMediaDescription       **remote,
                      GError                   **error)
{
  g_autoptr(DtMediaDescription) mine = dt_media_description_copy (local_offer);
  g_autoptr(DtMediaDescription) theirs = dt_media_description_copy (answer);

  g_ptr_array_set_size (mine->codecs, 0);
  g_ptr_array_set_size (theirs->codecs, 0);
  common_codecs (answer, local_offer, FALSE, theirs->codecs, mine->codecs);
  if (dt_media_description_audio_codec (theirs) == NULL)
    {
      g_set_error_literal (error, DT_ERROR, DT_ERROR_NOT_SUPPORTED,
                           "the answer has no audio codec that we offered");
      return FALSE;
    }
  mine->direction = local_offer->direction & dt_media_direction_reverse (answer->direction);

  /* The answer's crypto names one of ours by tag, with its own key. */
  g_ptr_array_set_size (mine->cryptos, 0);
  g_ptr_array_set_size (theirs->cryptos, 0);
  if (local_offer->cryptos->len > 0 && answer->cryptos->len > 0)
    {
      const DtCrypto *chosen = answer->cryptos->pdata[0];
      const DtCrypto *ours = NULL;

      for (guint i = 0; i < local_offer->cryptos->len && ours == NULL; i++)
        {
          const DtCrypto *c = local_offer->cryptos->pdata[i];
          if (c->tag == chosen->tag && c->suite == chosen->suite)
            ours = c;
        }
      if (ours == NULL)
        {
          g_set_error (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS,
                       "the answer's crypto (tag %u, %s) is not one we offered", chosen->tag,
                       dt_crypto_suite_to_string (chosen->suite));
          return FALSE;
        }
      g_ptr_array_add (mine->cryptos, dt_crypto_copy (ours));
      g_ptr_array_add (theirs->cryptos, dt_crypto_copy (chosen));
    }
  else if (local_offer->cryptos->len > 0 && answer->unusable_cryptos > 0)
    {
      g_set_error_literal (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS, "the answer's crypto line is unusable");
      return FALSE;
    }
  else if (local_offer->secure_profile || local_offer->encryption == DT_MEDIA_ENCRYPTION_MANDATORY)
    {
      g_set_error_literal (error, DT_ERROR, DT_ERROR_NOT_SUPPORTED,
                           "the answer is not encrypted and media encryption is mandatory");
      return FALSE;
    }
  mine->secure_profile = theirs->cryptos->len > 0 && local_offer->secure_profile;

  *local = g_steal_pointer (&mine);
  *remote = g_steal_pointer (&theirs);
  return TRUE;
}
