#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Plain descriptions of one audio stream, shared by the SIP layer (which
 * writes and reads them as SDP) and the media layer (which plays them):
 * neither needs the other's types. */

typedef enum {
  DT_MEDIA_DIRECTION_INACTIVE = 0,
  DT_MEDIA_DIRECTION_SENDONLY = 1,
  DT_MEDIA_DIRECTION_RECVONLY = 2,
  DT_MEDIA_DIRECTION_SENDRECV = 3,
} DtMediaDirection;

#define DT_MEDIA_DIRECTION_SENDS(d)    (((d) & DT_MEDIA_DIRECTION_SENDONLY) != 0)
#define DT_MEDIA_DIRECTION_RECEIVES(d) (((d) & DT_MEDIA_DIRECTION_RECVONLY) != 0)

typedef struct {
  char  *name;          /* encoding as in SDP: "PCMU", "opus", "telephone-event" */
  guint  payload_type;
  guint  clock_rate;    /* RTP clock rate (8000 for G.722, RFC 3551) */
  guint  channels;
  char  *fmtp;          /* format parameters, or NULL */
} DtCodec;

/* SDES-SRTP (RFC 4568) crypto suites, in our order of preference. */
typedef enum {
  DT_CRYPTO_SUITE_AES_CM_128_HMAC_SHA1_80,
  DT_CRYPTO_SUITE_AES_256_CM_HMAC_SHA1_80,
  DT_CRYPTO_SUITE_AES_CM_128_HMAC_SHA1_32,
  DT_CRYPTO_SUITE_COUNT,
} DtCryptoSuite;

/* Master key and salt: 16 + 14 bytes for AES-128, 32 + 14 for AES-256. */
#define DT_CRYPTO_MAX_KEY_LENGTH 46

/* One a=crypto line: a suite and the master key its sender encrypts with. */
typedef struct {
  guint         tag;
  DtCryptoSuite suite;
  guint8        key[DT_CRYPTO_MAX_KEY_LENGTH];
} DtCrypto;

/* What an account asks of media encryption (setting media-encryption). */
typedef enum {
  DT_MEDIA_ENCRYPTION_NONE,       /* plain RTP; SRTP-only offers are refused */
  DT_MEDIA_ENCRYPTION_OPTIONAL,   /* offer SRTP in RTP/AVP, accept plain RTP */
  DT_MEDIA_ENCRYPTION_MANDATORY,  /* RTP/SAVP only: plain calls are refused */
} DtMediaEncryption;

typedef struct {
  char            *address;    /* connection address, an IP literal */
  guint            port;       /* RTP port; 0: stream refused */
  guint            rtcp_port;  /* a=rtcp, else port + 1 */
  gboolean         rtcp_mux;
  DtMediaDirection direction;
  guint            ptime;      /* milliseconds; 0: unspecified */
  GPtrArray       *codecs;     /* DtCodec, in preference order */
  gboolean         secure_profile;  /* m= line says RTP/SAVP */
  /* DtCrypto: the lines offered, or after negotiation the one in use
   * (empty: plain RTP). Each side's key is the one it sends with. */
  GPtrArray       *cryptos;
  guint            unusable_cryptos; /* a=crypto lines we could not use */
  DtMediaEncryption encryption;     /* our capabilities only: the policy */
} DtMediaDescription;

DtCodec            *dt_codec_new                  (const char        *name,
                                                   guint              payload_type,
                                                   guint              clock_rate,
                                                   guint              channels,
                                                   const char        *fmtp);
DtCodec            *dt_codec_copy                 (const DtCodec     *codec);
void                dt_codec_free                 (DtCodec           *codec);
gboolean            dt_codec_same_format          (const DtCodec     *a,
                                                   const DtCodec     *b);
gboolean            dt_codec_is_telephone_event   (const DtCodec     *codec);
char               *dt_codec_to_string            (const DtCodec     *codec);

/* The codecs Dialtone knows by name ("opus", "g722", "pcmu", "pcma",
 * "telephone-event"), with their SDP form and default payload types. */
DtCodec            *dt_codec_new_known            (const char        *name);
const char * const *dt_codec_known_names          (void);

const char         *dt_crypto_suite_to_string     (DtCryptoSuite      suite);
gboolean            dt_crypto_suite_from_string   (const char        *name,
                                                   DtCryptoSuite     *suite);
gsize               dt_crypto_suite_key_length    (DtCryptoSuite      suite);
/* A fresh master key from the OS's CSPRNG. */
DtCrypto           *dt_crypto_new_random          (DtCryptoSuite      suite,
                                                   guint              tag,
                                                   GError           **error);
DtCrypto           *dt_crypto_copy                (const DtCrypto    *crypto);
void                dt_crypto_free                (DtCrypto          *crypto);
gboolean            dt_crypto_equal               (const DtCrypto    *a,
                                                   const DtCrypto    *b);

const char         *dt_media_encryption_to_string   (DtMediaEncryption  encryption);
gboolean            dt_media_encryption_from_string (const char        *name,
                                                     DtMediaEncryption *encryption);

DtMediaDescription *dt_media_description_new      (void);
DtMediaDescription *dt_media_description_copy     (const DtMediaDescription *desc);
void                dt_media_description_free     (DtMediaDescription *desc);
const DtCodec      *dt_media_description_find_pt  (const DtMediaDescription *desc,
                                                   guint              payload_type);
const DtCodec      *dt_media_description_audio_codec (const DtMediaDescription *desc);
const DtCodec      *dt_media_description_dtmf_codec  (const DtMediaDescription *desc);
/* The crypto in use after negotiation, NULL for plain RTP. */
const DtCrypto     *dt_media_description_crypto      (const DtMediaDescription *desc);

const char         *dt_media_direction_to_string  (DtMediaDirection   direction);
DtMediaDirection    dt_media_direction_reverse    (DtMediaDirection   direction);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DtCodec, dt_codec_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DtCrypto, dt_crypto_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DtMediaDescription, dt_media_description_free)

G_END_DECLS
