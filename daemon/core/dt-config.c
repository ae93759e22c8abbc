#include "dt-config.h"

#include "dt-enum-types.h"
#include "dt-error.h"
#include "dt-media-types.h"

/* dialtoned.conf: every group and key the daemon understands. Anything else
 * in the file is an error, not a silent no-op, so typos are caught at
 * start-up rather than discovered as "the setting does nothing". */

static const DtSettingSpec daemon_specs[] = {
  { .key = "log-level", .kind = DT_SETTING_CHOICE, .default_value = "message",
    .choices_enum = dt_log_level_get_type },
  { NULL }
};

static const DtSettingSpec sip_specs[] = {
  /* Timer B/F (64 × T1): how long an unanswered request waits. */
  { .key = "transaction-timeout", .kind = DT_SETTING_UINT, .default_value = "32",
    .min = 1, .max = 64 },
  /* Requests a second each source may open outside any dialog, after a
   * burst of request-burst; 0 lifts the limit. */
  { .key = "request-rate", .kind = DT_SETTING_UINT, .default_value = "10", .min = 0, .max = 100000 },
  { .key = "request-burst", .kind = DT_SETTING_UINT, .default_value = "20", .min = 1, .max = 100000 },
  { NULL }
};

static gboolean
check_codec_name (const char  *value,
                  GError     **error)
{
  if (g_strv_contains (dt_codec_known_names (), value) && !g_str_equal (value, "telephone-event"))
    return TRUE;
  g_set_error (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS,
               "'%s' is not a codec (expected opus, g722, pcmu, pcma)", value);
  return FALSE;
}

static gboolean
check_absolute_dir (const char  *value,
                    GError     **error)
{
  if (g_path_is_absolute (value))
    return TRUE;
  g_set_error (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS, "'%s' is not an absolute path", value);
  return FALSE;
}

/* Audio endpoints are checked against the media engine by the daemon once
 * the file is read (only it knows what the machine offers). The folders
 * for files that clients name have no default here: the daemon puts them
 * in its data folder. */
static const DtSettingSpec media_specs[] = {
  { .key = "audio-source", .kind = DT_SETTING_STRING, .default_value = "auto" },
  { .key = "audio-sink", .kind = DT_SETTING_STRING, .default_value = "auto" },
  { .key = "codecs", .kind = DT_SETTING_STRING_LIST, .default_value = "opus,g722,pcmu,pcma",
    .check = check_codec_name },
  { .key = "jitter-buffer", .kind = DT_SETTING_UINT, .default_value = "30", .min = 5, .max = 1000 },
  { .key = "ptime", .kind = DT_SETTING_UINT, .default_value = "20", .min = 10, .max = 120 },
  { .key = "rtp-timeout", .kind = DT_SETTING_UINT, .default_value = "30", .min = 0, .max = 3600 },
  { .key = "rtp-port-min", .kind = DT_SETTING_UINT, .default_value = "0", .min = 0, .max = 65534 },
  { .key = "rtp-port-max", .kind = DT_SETTING_UINT, .default_value = "0", .min = 0, .max = 65535 },
  { .key = "restrict-paths", .kind = DT_SETTING_BOOLEAN, .default_value = "false" },
  { .key = "play-directories", .kind = DT_SETTING_STRING_LIST, .check = check_absolute_dir },
  { .key = "record-directories", .kind = DT_SETTING_STRING_LIST, .check = check_absolute_dir },
  { NULL }
};

static const DtSettingSpec calls_specs[] = {
  { .key = "no-answer-timeout", .kind = DT_SETTING_UINT, .default_value = "60", .min = 0, .max = 3600 },
  { NULL }
};

typedef struct {
  const char          *name;
  const DtSettingSpec *specs;
} ConfigGroup;

static const ConfigGroup config_groups[] = {
  { "daemon", daemon_specs },
  { "sip", sip_specs },
  { "media", media_specs },
  { "calls", calls_specs },
};

struct _DtConfig {
  GObject     parent_instance;
  GHashTable *groups; /* name → DtSettings */
};

G_DEFINE_FINAL_TYPE (DtConfig, dt_config, G_TYPE_OBJECT)

static void
dt_config_finalize (GObject *object)
{
  DtConfig *self = DT_CONFIG (object);

  g_hash_table_unref (self->groups);
  G_OBJECT_CLASS (dt_config_parent_class)->finalize (object);
}

static void
dt_config_class_init (DtConfigClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = dt_config_finalize;
}

static void
dt_config_init (DtConfig *self)
{
  self->groups = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                        (GDestroyNotify) dt_settings_free);
  for (guint i = 0; i < G_N_ELEMENTS (config_groups); i++)
    g_hash_table_insert (self->groups, (gpointer) config_groups[i].name,
                         dt_settings_new (config_groups[i].specs));
}

DtConfig *
dt_config_new (void)
{
  return g_object_new (DT_TYPE_CONFIG, NULL);
}

/* A missing file means "all defaults". Any other problem fails the whole
 * load with one line naming the file, the group and key, and what is wrong,
 * and leaves the configuration unchanged. */
gboolean
dt_config_load_file (DtConfig   *self,
                     const char *path,
                     GError    **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autofree char *data = NULL;
  gsize length;

  if (!g_file_get_contents (path, &data, &length, &local_error))
    {
      if (g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        return TRUE;
      g_set_error (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS,
                   "%s: %s", path, local_error->message);
      return FALSE;
    }
  return dt_config_load_data (self, data, length, path, error);
}

gboolean
dt_config_load_data (DtConfig    *self,
                     const char  *data,
                     gsize        length,
                     const char  *path,
                     GError     **error)
{
  g_autoptr(GKeyFile) keyfile = g_key_file_new ();
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GHashTable) loaded = NULL;
  g_auto(GStrv) groups = NULL;

  if (!g_key_file_load_from_data (keyfile, data, length, G_KEY_FILE_NONE, &local_error))
    {
      g_set_error (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS,
                   "%s: %s", path, local_error->message);
      return FALSE;
    }

  loaded = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                  (GDestroyNotify) dt_settings_free);
  groups = g_key_file_get_groups (keyfile, NULL);
  for (char **g = groups; *g != NULL; g++)
    {
      DtSettings *current = g_hash_table_lookup (self->groups, *g);
      g_autoptr(DtSettings) next = NULL;
      const char *group_key = NULL;

      if (current == NULL)
        {
          g_set_error (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS,
                       "%s: [%s]: unknown group", path, *g);
          return FALSE;
        }
      next = dt_settings_copy (current);
      if (!dt_settings_load_keyfile (next, keyfile, *g, &local_error))
        {
          g_set_error (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS,
                       "%s: [%s] %s", path, *g, local_error->message);
          return FALSE;
        }
      g_hash_table_lookup_extended (self->groups, *g, (gpointer *) &group_key, NULL);
      g_hash_table_insert (loaded, (gpointer) group_key, g_steal_pointer (&next));
    }

  /* Every group parsed: only now replace what we had. */
  {
    GHashTableIter iter;
    gpointer key, value;

    g_hash_table_iter_init (&iter, loaded);
    while (g_hash_table_iter_next (&iter, &key, &value))
      {
        g_hash_table_iter_steal (&iter);
        g_hash_table_insert (self->groups, key, value);
      }
  }
  return TRUE;
}

DtSettings *
dt_config_get_group (DtConfig   *self,
                     const char *group)
{
  DtSettings *settings = g_hash_table_lookup (self->groups, group);

  g_return_val_if_fail (settings != NULL, NULL);
  return settings;
}
