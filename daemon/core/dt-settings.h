#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

/* A typed, validated set of kebab-case settings, described by a static
 * schema. The same schema reads a GKeyFile group (config and account files)
 * and an a{sv} from D-Bus, so both paths accept and reject exactly the same
 * things, with messages that start with the key. Whitespace at the ends of
 * a value is dropped (except in secrets, kept as given), the same way on
 * both paths. An empty string given for a string setting unsets it (back to
 * its default). */

/* The longest text (a string setting, one list element, a D-Bus string
 * argument) the daemon takes, in bytes: more than any URI, path or name
 * needs, and far less than a message that could hurt. */
#define DT_TEXT_MAX_LENGTH 4096

/* Text from a client: valid UTF-8, at most DT_TEXT_MAX_LENGTH bytes, no
 * control characters (they would end up in SIP headers, file names and
 * log lines). The message starts with @key and never repeats the value:
 * it may be a secret, or huge. */
gboolean dt_text_check (const char  *key,
                        const char  *value,
                        GError     **error);

typedef enum {
  DT_SETTING_STRING,
  DT_SETTING_BOOLEAN,
  DT_SETTING_UINT,
  DT_SETTING_CHOICE,
  DT_SETTING_STRING_LIST,
} DtSettingKind;

typedef struct _DtSettingSpec DtSettingSpec;

/* Extra validation of one string (or one list element); the message should
 * not repeat the key, the caller prefixes it. */
typedef gboolean (*DtSettingCheck) (const char  *value,
                                    GError     **error);

struct _DtSettingSpec {
  const char         *key;
  DtSettingKind       kind;
  const char         *default_value;  /* key-file syntax; NULL: unset */
  guint32             min;            /* DT_SETTING_UINT */
  guint32             max;
  const char * const *choices;        /* DT_SETTING_CHOICE, NULL-terminated, */
  GType             (*choices_enum) (void); /* or the nicks of this GEnum */
  DtSettingCheck      check;          /* DT_SETTING_STRING(_LIST) */
  gboolean            secret;         /* key file only: never read from or
                                         * returned in an a{sv} */
};

typedef struct _DtSettings DtSettings;

const DtSettingSpec *dt_setting_spec_find   (const DtSettingSpec *specs,
                                             const char          *key);
GVariant     *dt_setting_parse_text         (const DtSettingSpec *spec,
                                             const char          *text,
                                             GError             **error);
GVariant     *dt_setting_coerce_variant     (const DtSettingSpec *spec,
                                             GVariant            *value,
                                             GError             **error);

DtSettings   *dt_settings_new               (const DtSettingSpec *specs);
DtSettings   *dt_settings_copy              (const DtSettings    *self);
void          dt_settings_free              (DtSettings          *self);

gboolean      dt_settings_load_keyfile      (DtSettings          *self,
                                             GKeyFile            *keyfile,
                                             const char          *group,
                                             GError             **error);
gboolean      dt_settings_update_vardict    (DtSettings          *self,
                                             GVariant            *asv,
                                             GError             **error);
void          dt_settings_save_keyfile      (const DtSettings    *self,
                                             GKeyFile            *keyfile,
                                             const char          *group);
GVariant     *dt_settings_to_vardict        (const DtSettings    *self);

gboolean      dt_settings_is_set            (const DtSettings    *self,
                                             const char          *key);
GVariant     *dt_settings_get               (const DtSettings    *self,
                                             const char          *key);
const char   *dt_settings_get_string        (const DtSettings    *self,
                                             const char          *key);
gboolean      dt_settings_get_boolean       (const DtSettings    *self,
                                             const char          *key);
guint32       dt_settings_get_uint          (const DtSettings    *self,
                                             const char          *key);
char        **dt_settings_dup_strv          (const DtSettings    *self,
                                             const char          *key);
gboolean      dt_settings_set               (DtSettings          *self,
                                             const char          *key,
                                             GVariant            *value,
                                             GError             **error);
void          dt_settings_unset             (DtSettings          *self,
                                             const char          *key);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DtSettings, dt_settings_free)

G_END_DECLS
