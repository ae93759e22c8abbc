#include "dt-media-types.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include "dt-error.h"

DtCodec *
dt_codec_new (const char *name,
              guint       payload_type,
              guint       clock_rate,
              guint       channels,
              const char *fmtp)
{
  DtCodec *codec = g_new0 (DtCodec, 1);

  codec->name = g_strdup (name);
  codec->payload_type = payload_type;
  codec->clock_rate = clock_rate;
  codec->channels = channels ? channels : 1;
  codec->fmtp = g_strdup (fmtp);
  return codec;
}

static const struct {
  const char *name;
  const char *encoding;
  guint       payload_type;
  guint       clock_rate;
  guint       channels;
  const char *fmtp;
} known_codecs[] = {
  /* RFC 7587: always 48000/2 in SDP whatever is sent. */
  { "opus", "opus", 111, 48000, 2, "minptime=10;useinbandfec=1" },
  /* RFC 3551: G.722 is 16 kHz audio on an 8000 Hz RTP clock. */
  { "g722", "G722", 9, 8000, 1, NULL },
  { "pcmu", "PCMU", 0, 8000, 1, NULL },
  { "pcma", "PCMA", 8, 8000, 1, NULL },
  { "telephone-event", "telephone-event", 101, 8000, 1, "0-16" },
};

DtCodec *
dt_codec_new_known (const char *name)
{
  for (guint i = 0; i < G_N_ELEMENTS (known_codecs); i++)
    if (g_ascii_strcasecmp (name, known_codecs[i].name) == 0)
      return dt_codec_new (known_codecs[i].encoding, known_codecs[i].payload_type,
                           known_codecs[i].clock_rate, known_codecs[i].channels, known_codecs[i].fmtp);
  return NULL;
}

const char * const *
dt_codec_known_names (void)
{
  static const char * const names[] = { "opus", "g722", "pcmu", "pcma", "telephone-event", NULL };
  return names;
}

DtCodec *
dt_codec_copy (const DtCodec *codec)
{
  return dt_codec_new (codec->name, codec->payload_type, codec->clock_rate, codec->channels,
                       codec->fmtp);
}

void
dt_codec_free (DtCodec *codec)
{
  if (codec == NULL)
    return;
  g_free (codec->name);
  g_free (codec->fmtp);
  g_free (codec);
}

/* Same encoding, rate and channels: the payload type numbers may differ
 * between the two sides (dynamic types). Encoding names are
 * case-insensitive (RFC 4855). */
gboolean
dt_codec_same_format (const DtCodec *a,
                      const DtCodec *b)
{
  return g_ascii_strcasecmp (a->name, b->name) == 0 &&
         a->clock_rate == b->clock_rate && a->channels == b->channels;
}

gboolean
dt_codec_is_telephone_event (const DtCodec *codec)
{
  return g_ascii_strcasecmp (codec->name, "telephone-event") == 0;
}

/* "PCMU/8000", "opus/48000/2": the rtpmap form. */
char *
dt_codec_to_string (const DtCodec *codec)
{
  if (codec->channels > 1)
    return g_strdup_printf ("%s/%u/%u", codec->name, codec->clock_rate, codec->channels);
  return g_strdup_printf ("%s/%u", codec->name, codec->clock_rate);
}

DtMediaDescription *
dt_media_description_new (void)
{
  DtMediaDescription *desc = g_new0 (DtMediaDescription, 1);

  desc->direction = DT_MEDIA_DIRECTION_SENDRECV;
  desc->codecs = g_ptr_array_new_with_free_func ((GDestroyNotify) dt_codec_free);
  desc->cryptos = g_ptr_array_new_with_free_func ((GDestroyNotify) dt_crypto_free);
  return desc;
}

DtMediaDescription *
dt_media_description_copy (const DtMediaDescription *desc)
{
  DtMediaDescription *copy = dt_media_description_new ();

  copy->address = g_strdup (desc->address);
  copy->port = desc->port;
  copy->rtcp_port = desc->rtcp_port;
  copy->rtcp_mux = desc->rtcp_mux;
  copy->direction = desc->direction;
  copy->ptime = desc->ptime;
  for (guint i = 0; i < desc->codecs->len; i++)
    g_ptr_array_add (copy->codecs, dt_codec_copy (desc->codecs->pdata[i]));
  copy->secure_profile = desc->secure_profile;
  for (guint i = 0; i < desc->cryptos->len; i++)
    g_ptr_array_add (copy->cryptos, dt_crypto_copy (desc->cryptos->pdata[i]));
  copy->unusable_cryptos = desc->unusable_cryptos;
  copy->encryption = desc->encryption;
  return copy;
}

void
dt_media_description_free (DtMediaDescription *desc)
{
  if (desc == NULL)
    return;
  g_free (desc->address);
  g_ptr_array_unref (desc->codecs);
  g_ptr_array_unref (desc->cryptos);
  g_free (desc);
}

const DtCodec *
dt_media_description_find_pt (const DtMediaDescription *desc,
                              guint                     payload_type)
{
  for (guint i = 0; i < desc->codecs->len; i++)
    if (((DtCodec *) desc->codecs->pdata[i])->payload_type == payload_type)
      return desc->codecs->pdata[i];
  return NULL;
}

/* The first codec that carries audio: after negotiation, the one in use. */
const DtCodec *
dt_media_description_audio_codec (const DtMediaDescription *desc)
{
  for (guint i = 0; i < desc->codecs->len; i++)
    if (!dt_codec_is_telephone_event (desc->codecs->pdata[i]))
      return desc->codecs->pdata[i];
  return NULL;
}

const DtCodec *
dt_media_description_dtmf_codec (const DtMediaDescription *desc)
{
  for (guint i = 0; i < desc->codecs->len; i++)
    if (dt_codec_is_telephone_event (desc->codecs->pdata[i]))
      return desc->codecs->pdata[i];
  return NULL;
}

const char *
dt_media_direction_to_string (DtMediaDirection direction)
{
  switch (direction)
    {
    case DT_MEDIA_DIRECTION_SENDONLY: return "sendonly";
    case DT_MEDIA_DIRECTION_RECVONLY: return "recvonly";
    case DT_MEDIA_DIRECTION_INACTIVE: return "inactive";
    case DT_MEDIA_DIRECTION_SENDRECV:
    default:                          return "sendrecv";
    }
}

/* The other side's view: what they send, we receive. */
DtMediaDirection
dt_media_direction_reverse (DtMediaDirection direction)
{
  return (DtMediaDirection) (((direction & DT_MEDIA_DIRECTION_SENDONLY) ? DT_MEDIA_DIRECTION_RECVONLY : 0) |
                             ((direction & DT_MEDIA_DIRECTION_RECVONLY) ? DT_MEDIA_DIRECTION_SENDONLY : 0));
}

const DtCrypto *
dt_media_description_crypto (const DtMediaDescription *desc)
{
  return desc->cryptos->len == 1 ? desc->cryptos->pdata[0] : NULL;
}

static const struct {
  const char *name;
  gsize       key_length;
} crypto_suites[DT_CRYPTO_SUITE_COUNT] = {
  [DT_CRYPTO_SUITE_AES_CM_128_HMAC_SHA1_80] = { "AES_CM_128_HMAC_SHA1_80", 30 },
  [DT_CRYPTO_SUITE_AES_256_CM_HMAC_SHA1_80] = { "AES_256_CM_HMAC_SHA1_80", 46 },
  [DT_CRYPTO_SUITE_AES_CM_128_HMAC_SHA1_32] = { "AES_CM_128_HMAC_SHA1_32", 30 },
};

const char *
dt_crypto_suite_to_string (DtCryptoSuite suite)
{
  g_return_val_if_fail (suite < DT_CRYPTO_SUITE_COUNT, NULL);
  return crypto_suites[suite].name;
}

/* Suite names are case-sensitive tokens (RFC 4568 9.2). */
gboolean
dt_crypto_suite_from_string (const char    *name,
                             DtCryptoSuite *suite)
{
  for (guint i = 0; i < DT_CRYPTO_SUITE_COUNT; i++)
    if (g_strcmp0 (name, crypto_suites[i].name) == 0)
      {
        *suite = (DtCryptoSuite) i;
        return TRUE;
      }
  return FALSE;
}

gsize
dt_crypto_suite_key_length (DtCryptoSuite suite)
{
  g_return_val_if_fail (suite < DT_CRYPTO_SUITE_COUNT, 0);
  return crypto_suites[suite].key_length;
}

DtCrypto *
dt_crypto_new_random (DtCryptoSuite   suite,
                      guint           tag,
                      GError        **error)
{
  g_autoptr(DtCrypto) crypto = g_new0 (DtCrypto, 1);
  gsize length = dt_crypto_suite_key_length (suite);
  gsize done = 0;

  crypto->tag = tag;
  crypto->suite = suite;
  /* getrandom() blocks only before the kernel's pool is first seeded. */
  while (done < length)
    {
      ssize_t n = getrandom (crypto->key + done, length - done, 0);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          int saved = errno;
          g_set_error (error, DT_ERROR, DT_ERROR_FAILED, "no random key: %s", g_strerror (saved));
          return NULL;
        }
      done += (gsize) n;
    }
  return g_steal_pointer (&crypto);
}

DtCrypto *
dt_crypto_copy (const DtCrypto *crypto)
{
  return g_memdup2 (crypto, sizeof *crypto);
}

void
dt_crypto_free (DtCrypto *crypto)
{
  if (crypto == NULL)
    return;
  explicit_bzero (crypto->key, sizeof crypto->key);
  g_free (crypto);
}

gboolean
dt_crypto_equal (const DtCrypto *a,
                 const DtCrypto *b)
{
  if (a == NULL || b == NULL)
    return a == b;
  return a->tag == b->tag && a->suite == b->suite &&
         memcmp (a->key, b->key, dt_crypto_suite_key_length (a->suite)) == 0;
}

static const char * const encryption_names[] = { "none", "optional", "mandatory", NULL };

const char *
dt_media_encryption_to_string (DtMediaEncryption encryption)
{
  g_return_val_if_fail (encryption <= DT_MEDIA_ENCRYPTION_MANDATORY, NULL);
  return encryption_names[encryption];
}

gboolean
dt_media_encryption_from_string (const char        *name,
                                 DtMediaEncryption *encryption)
{
  for (guint i = 0; encryption_names[i]; i++)
    if (g_strcmp0 (name, encryption_names[i]) == 0)
      {
        *encryption = (DtMediaEncryption) i;
        return TRUE;
      }
  return FALSE;
}
