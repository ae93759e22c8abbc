#include "dt-settings.h"

#include <string.h>

#include "dt-error.h"
#include "dt-state.h"

struct _DtSettings {
  const DtSettingSpec *specs;
  GHashTable          *values;    /* key (static, from the spec) → GVariant */
  GHashTable          *defaults;  /* same, parsed once from the schema */
};

static const char *
kind_description (DtSettingKind kind)
{
  switch (kind)
    {
    case DT_SETTING_STRING:
    case DT_SETTING_CHOICE:
      return "a string";
    case DT_SETTING_BOOLEAN:
      return "a boolean";
    case DT_SETTING_UINT:
      return "an unsigned integer";
    case DT_SETTING_STRING_LIST:
      return "a list of strings";
    default:
      g_assert_not_reached ();
    }
}

const DtSettingSpec *
dt_setting_spec_find (const DtSettingSpec *specs,
                      const char          *key)
{
  for (const DtSettingSpec *s = specs; s->key != NULL; s++)
    if (g_str_equal (s->key, key))
      return s;
  return NULL;
}

gboolean
dt_text_check (const char  *key,
               const char  *value,
               GError     **error)
{
  gsize length = strnlen (value, DT_TEXT_MAX_LENGTH + 1);

  if (length > DT_TEXT_MAX_LENGTH)
    {
      g_set_error (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS,
                   "%s: longer than %d bytes", key, DT_TEXT_MAX_LENGTH);
      return FALSE;
    }
  if (!g_utf8_validate (value, length, NULL))
    {
      g_set_error (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS, "%s: not valid UTF-8", key);
      return FALSE;
    }
  for (const char *c = value; *c != '\0'; c++)
    if ((guchar) *c < 0x20 || *c == 0x7f)
      {
        g_set_error (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS,
                     "%s: contains a control character (0x%02x)", key, (guchar) *c);
        return FALSE;
      }
  return TRUE;
}

static gboolean
check_string (const DtSettingSpec *spec,
              const char          *value,
              GError             **error)
{
  g_autoptr(GError) local_error = NULL;

  /* Empty means "unset": merge_parsed() removes the key. */
  if (*value == '\0' && spec->kind == DT_SETTING_STRING)
    return TRUE;

  if (!dt_text_check (spec->key, value, error))
    return FALSE;

  if (spec->kind == DT_SETTING_CHOICE)
    {
      gboolean known = spec->choices ? g_strv_contains (spec->choices, value)
                                     : dt_enum_from_nick (spec->choices_enum (), value, NULL);
      if (!known)
        {
          g_autofree char *allowed = spec->choices ? g_strjoinv (", ", (char **) spec->choices)
                                                   : dt_enum_list_nicks (spec->choices_enum ());
          g_set_error (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS,
                       "%s: '%s' is not one of %s", spec->key, value, allowed);
          return FALSE;
        }
      return TRUE;
    }

  if (spec->check != NULL && !spec->check (value, &local_error))
    {
      g_set_error (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS,
                   "%s: %s", spec->key, local_error->message);
      return FALSE;
    }
  return TRUE;
}

static GVariant *
strv_to_variant (const DtSettingSpec *spec,
                 char               **items,
                 GError             **error)
{
  g_autoptr(GPtrArray) clean = g_ptr_array_new_with_free_func (g_free);

  for (char **it = items; *it != NULL; it++)
    {
      g_autofree char *item = g_strstrip (g_strdup (*it));

      if (*item == '\0')
        continue;
      if (!check_string (spec, item, error))
        return NULL;
      g_ptr_array_add (clean, g_steal_pointer (&item));
    }
  return g_variant_ref_sink (g_variant_new_strv ((const char * const *) clean->pdata,
                                                 clean->len));
}

/* Text as found in a key file, or a schema default. Lists are split on ','
 * or ';' so both the key-file list syntax and a plain comma list work. */
GVariant *
dt_setting_parse_text (const DtSettingSpec *spec,
                       const char          *text,
                       GError             **error)
{
  switch (spec->kind)
    {
    case DT_SETTING_STRING:
    case DT_SETTING_CHOICE:
      if (!check_string (spec, text, error))
        return NULL;
      return g_variant_ref_sink (g_variant_new_string (text));

    case DT_SETTING_BOOLEAN:
      if (g_str_equal (text, "true") || g_str_equal (text, "1"))
        return g_variant_ref_sink (g_variant_new_boolean (TRUE));
      if (g_str_equal (text, "false") || g_str_equal (text, "0"))
        return g_variant_ref_sink (g_variant_new_boolean (FALSE));
      g_set_error (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS,
                   "%s: '%s' is not a boolean (expected true or false)", spec->key, text);
      return NULL;

    case DT_SETTING_UINT:
      {
        guint64 number;

        if (!g_ascii_string_to_unsigned (text, 10, spec->min, spec->max, &number, NULL))
          {
            g_set_error (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS,
                         "%s: '%s' is not a whole number from %u to %u",
                         spec->key, text, spec->min, spec->max);
            return NULL;
          }
        return g_variant_ref_sink (g_variant_new_uint32 ((guint32) number));
      }

    case DT_SETTING_STRING_LIST:
      {
        /* Not GRegex: compiling a pattern maps ~0.4 MiB of PCRE2 for good. */
        g_auto(GStrv) items = g_strsplit_set (text, ",;", -1);
        return strv_to_variant (spec, items, error);
      }

    default:
      g_assert_not_reached ();
    }
}

static gboolean
variant_to_uint64 (GVariant *value,
                   gint64   *out_signed,
                   guint64  *out_unsigned,
                   gboolean *is_signed)
{
  *is_signed = FALSE;
  switch (g_variant_classify (value))
    {
    case G_VARIANT_CLASS_BYTE:   *out_unsigned = g_variant_get_byte (value); return TRUE;
    case G_VARIANT_CLASS_UINT16: *out_unsigned = g_variant_get_uint16 (value); return TRUE;
    case G_VARIANT_CLASS_UINT32: *out_unsigned = g_variant_get_uint32 (value); return TRUE;
    case G_VARIANT_CLASS_UINT64: *out_unsigned = g_variant_get_uint64 (value); return TRUE;
    case G_VARIANT_CLASS_INT16:  *out_signed = g_variant_get_int16 (value); break;
    case G_VARIANT_CLASS_INT32:  *out_signed = g_variant_get_int32 (value); break;
    case G_VARIANT_CLASS_INT64:  *out_signed = g_variant_get_int64 (value); break;
    default: return FALSE;
    }
  *is_signed = TRUE;
  return TRUE;
}

/* A value from D-Bus (a floating @value is consumed). Integers are accepted
 * in any width and signedness (scripts rarely control it: gdbus sends int32)
 * as long as they fit. */
GVariant *
dt_setting_coerce_variant (const DtSettingSpec *spec,
                           GVariant            *value,
                           GError             **error)
{
  g_autoptr(GVariant) owned = g_variant_ref_sink (value);

  switch (spec->kind)
    {
    case DT_SETTING_STRING:
    case DT_SETTING_CHOICE:
      {
        g_autofree char *text = NULL;

        if (!g_variant_is_of_type (value, G_VARIANT_TYPE_STRING))
          break;
        /* As from a key file (dt_settings_load_keyfile), or the value would
         * change when the daemon stores it and reads it back. */
        text = g_variant_dup_string (value, NULL);
        if (!spec->secret)
          g_strstrip (text);
        if (!check_string (spec, text, error))
          return NULL;
        return g_variant_ref_sink (g_variant_new_string (text));
      }

    case DT_SETTING_BOOLEAN:
      if (!g_variant_is_of_type (value, G_VARIANT_TYPE_BOOLEAN))
        break;
      return g_variant_ref_sink (g_variant_new_boolean (g_variant_get_boolean (value)));

    case DT_SETTING_UINT:
      {
        gint64 s = 0;
        guint64 u = 0;
        gboolean is_signed;

        if (!variant_to_uint64 (value, &s, &u, &is_signed))
          break;
        if (is_signed && s < 0)
          u = G_MAXUINT64;
        else if (is_signed)
          u = (guint64) s;
        if (u < spec->min || u > spec->max)
          {
            g_set_error (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS,
                         "%s: %" G_GINT64_FORMAT " is out of range (%u to %u)", spec->key,
                         is_signed ? s : (gint64) MIN (u, (guint64) G_MAXINT64),
                         spec->min, spec->max);
            return NULL;
          }
        return g_variant_ref_sink (g_variant_new_uint32 ((guint32) u));
      }

    case DT_SETTING_STRING_LIST:
      {
        g_autofree const char **items = NULL;

        if (!g_variant_is_of_type (value, G_VARIANT_TYPE_STRING_ARRAY))
          break;
        items = g_variant_get_strv (value, NULL);
        return strv_to_variant (spec, (char **) items, error);
      }

    default:
      g_assert_not_reached ();
    }

  g_set_error (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS,
               "%s: expected %s, got a value of type '%s'", spec->key,
               kind_description (spec->kind), g_variant_get_type_string (value));
  return NULL;
}

DtSettings *
dt_settings_new (const DtSettingSpec *specs)
{
  DtSettings *self = g_new0 (DtSettings, 1);

  self->specs = specs;
  self->values = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                        (GDestroyNotify) g_variant_unref);
  self->defaults = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                          (GDestroyNotify) g_variant_unref);

  for (const DtSettingSpec *s = specs; s->key != NULL; s++)
    {
      g_autoptr(GError) error = NULL;
      GVariant *def;

      if (s->default_value == NULL)
        continue;
      def = dt_setting_parse_text (s, s->default_value, &error);
      if (def == NULL)
        g_error ("Schema default is invalid: %s", error->message);
      g_hash_table_insert (self->defaults, (gpointer) s->key, def);
    }
  return self;
}

DtSettings *
dt_settings_copy (const DtSettings *self)
{
  DtSettings *copy = dt_settings_new (self->specs);
  GHashTableIter iter;
  gpointer key, value;

  g_hash_table_iter_init (&iter, self->values);
  while (g_hash_table_iter_next (&iter, &key, &value))
    g_hash_table_insert (copy->values, key, g_variant_ref (value));
  return copy;
}

void
dt_settings_free (DtSettings *self)
{
  if (self == NULL)
    return;
  g_hash_table_unref (self->values);
  g_hash_table_unref (self->defaults);
  g_free (self);
}

/* Callers validate every key into @parsed before merging any of them, so a
 * bad key leaves self as it was. */
static void
merge_parsed (DtSettings *self,
              GHashTable *parsed)
{
  GHashTableIter iter;
  gpointer key, value;

  g_hash_table_iter_init (&iter, parsed);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      if (g_variant_is_of_type (value, G_VARIANT_TYPE_STRING) &&
          *g_variant_get_string (value, NULL) == '\0')
        g_hash_table_remove (self->values, key);
      else
        g_hash_table_insert (self->values, key, g_variant_ref (value));
      g_hash_table_iter_remove (&iter);
    }
}

/* An odd run of backslashes at the end: the last escapes nothing. */
static gboolean
ends_in_escape (const char *raw)
{
  gsize len = raw ? strlen (raw) : 0, run = 0;

  while (run < len && raw[len - 1 - run] == '\\')
    run++;
  return run % 2 == 1;
}

gboolean
dt_settings_load_keyfile (DtSettings *self,
                          GKeyFile   *keyfile,
                          const char *group,
                          GError    **error)
{
  g_autoptr(GHashTable) parsed = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                                         (GDestroyNotify) g_variant_unref);
  g_auto(GStrv) keys = NULL;

  if (!g_key_file_has_group (keyfile, group))
    return TRUE;

  keys = g_key_file_get_keys (keyfile, group, NULL, error);
  if (keys == NULL)
    return FALSE;

  for (char **k = keys; *k != NULL; k++)
    {
      const DtSettingSpec *spec = dt_setting_spec_find (self->specs, *k);
      g_autoptr(GError) read_error = NULL;
      g_autofree char *raw = NULL;
      g_autofree char *text = NULL;
      GVariant *value;

      if (spec == NULL)
        {
          g_set_error (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS,
                       "%s: unknown key", *k);
          return FALSE;
        }

      /* GLib 2.74 sets its error twice (a warning, fatal under
       * G_DEBUG=fatal-warnings) for a value that ends in an escape
       * character after a bad escape: refuse those before it reads them. */
      raw = g_key_file_get_value (keyfile, group, *k, NULL);
      if (ends_in_escape (raw))
        {
          g_set_error (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS,
                       "%s: the value ends in an escape character", *k);
          return FALSE;
        }
      /* Lists are split on ',' or ';' by the parser, like defaults. */
      text = g_key_file_get_string (keyfile, group, *k, &read_error);
      /* For a bad escape (a backslash before a quote) GKeyFile returns the
       * text and an error. */
      if (read_error != NULL)
        {
          g_set_error (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS, "%s: %s", *k, read_error->message);
          return FALSE;
        }
      /* Ends of a line are whitespace a person typed, except in a secret,
       * which we keep as given (GKeyFile escapes what it must). */
      value = dt_setting_parse_text (spec, spec->secret ? text : g_strstrip (text), error);
      if (value == NULL)
        return FALSE;
      g_hash_table_insert (parsed, (gpointer) spec->key, value);
    }

  merge_parsed (self, parsed);
  return TRUE;
}

/* A floating @asv is consumed. */
gboolean
dt_settings_update_vardict (DtSettings *self,
                            GVariant   *asv,
                            GError    **error)
{
  g_autoptr(GVariant) owned = g_variant_ref_sink (asv);
  g_autoptr(GHashTable) parsed = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                                         (GDestroyNotify) g_variant_unref);
  GVariantIter iter;
  const char *key;
  GVariant *raw;

  if (!g_variant_is_of_type (asv, G_VARIANT_TYPE_VARDICT))
    {
      g_set_error (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS,
                   "settings must be a{sv}, got '%s'", g_variant_get_type_string (asv));
      return FALSE;
    }

  g_variant_iter_init (&iter, asv);
  while (g_variant_iter_next (&iter, "{&sv}", &key, &raw))
    {
      g_autoptr(GVariant) owned_raw = raw;
      const DtSettingSpec *spec = dt_setting_spec_find (self->specs, key);
      GVariant *value;

      if (spec == NULL)
        {
          g_set_error (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS,
                       "%s: unknown key", key);
          return FALSE;
        }
      if (spec->secret)
        {
          g_set_error (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS,
                       "%s: secrets are not settings; use the dedicated method", key);
          return FALSE;
        }
      value = dt_setting_coerce_variant (spec, raw, error);
      if (value == NULL)
        return FALSE;
      g_hash_table_insert (parsed, (gpointer) spec->key, value);
    }

  merge_parsed (self, parsed);
  return TRUE;
}

void
dt_settings_save_keyfile (const DtSettings *self,
                          GKeyFile         *keyfile,
                          const char       *group)
{
  /* Schema order, so the file reads the same way every time. */
  for (const DtSettingSpec *s = self->specs; s->key != NULL; s++)
    {
      GVariant *value = g_hash_table_lookup (self->values, s->key);

      if (value == NULL)
        continue;
      switch (s->kind)
        {
        case DT_SETTING_STRING:
        case DT_SETTING_CHOICE:
          g_key_file_set_string (keyfile, group, s->key, g_variant_get_string (value, NULL));
          break;
        case DT_SETTING_BOOLEAN:
          g_key_file_set_boolean (keyfile, group, s->key, g_variant_get_boolean (value));
          break;
        case DT_SETTING_UINT:
          g_key_file_set_uint64 (keyfile, group, s->key, g_variant_get_uint32 (value));
          break;
        case DT_SETTING_STRING_LIST:
          {
            g_autofree const char **items = g_variant_get_strv (value, NULL);
            g_key_file_set_string_list (keyfile, group, s->key, items,
                                        g_strv_length ((char **) items));
            break;
          }
        default:
          g_assert_not_reached ();
        }
    }
}

/* Effective values (set, else default) of every readable key. */
GVariant *
dt_settings_to_vardict (const DtSettings *self)
{
  GVariantBuilder builder;

  g_variant_builder_init (&builder, G_VARIANT_TYPE_VARDICT);
  for (const DtSettingSpec *s = self->specs; s->key != NULL; s++)
    {
      GVariant *value;

      if (s->secret)
        continue;
      value = dt_settings_get (self, s->key);
      if (value != NULL)
        g_variant_builder_add (&builder, "{sv}", s->key, value);
    }
  return g_variant_builder_end (&builder);
}

gboolean
dt_settings_is_set (const DtSettings *self,
                    const char       *key)
{
  return g_hash_table_contains (self->values, key);
}

GVariant *
dt_settings_get (const DtSettings *self,
                 const char       *key)
{
  GVariant *value = g_hash_table_lookup (self->values, key);

  g_return_val_if_fail (dt_setting_spec_find (self->specs, key) != NULL, NULL);
  return value ? value : g_hash_table_lookup (self->defaults, key);
}

const char *
dt_settings_get_string (const DtSettings *self,
                        const char       *key)
{
  GVariant *value = dt_settings_get (self, key);

  return value ? g_variant_get_string (value, NULL) : NULL;
}

gboolean
dt_settings_get_boolean (const DtSettings *self,
                         const char       *key)
{
  GVariant *value = dt_settings_get (self, key);

  return value ? g_variant_get_boolean (value) : FALSE;
}

guint32
dt_settings_get_uint (const DtSettings *self,
                      const char       *key)
{
  GVariant *value = dt_settings_get (self, key);

  return value ? g_variant_get_uint32 (value) : 0;
}

char **
dt_settings_dup_strv (const DtSettings *self,
                      const char       *key)
{
  GVariant *value = dt_settings_get (self, key);

  return value ? g_variant_dup_strv (value, NULL) : g_new0 (char *, 1);
}

/* A floating @value is consumed. */
gboolean
dt_settings_set (DtSettings *self,
                 const char *key,
                 GVariant   *value,
                 GError    **error)
{
  const DtSettingSpec *spec = dt_setting_spec_find (self->specs, key);
  GVariant *clean;

  if (spec == NULL)
    {
      g_variant_unref (g_variant_ref_sink (value));
      g_set_error (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS, "%s: unknown key", key);
      return FALSE;
    }
  clean = dt_setting_coerce_variant (spec, value, error);
  if (clean == NULL)
    return FALSE;
  if (g_variant_is_of_type (clean, G_VARIANT_TYPE_STRING) &&
      *g_variant_get_string (clean, NULL) == '\0')
    {
      g_hash_table_remove (self->values, spec->key);
      g_variant_unref (clean);
    }
  else
    g_hash_table_insert (self->values, (gpointer) spec->key, clean);
  return TRUE;
}

void
dt_settings_unset (DtSettings *self,
                   const char *key)
{
  g_hash_table_remove (self->values, key);
}
