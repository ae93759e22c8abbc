#include "dt-state.h"

#include "dt-enum-types.h"

const char *
dt_enum_to_nick (GType enum_type,
                 int   value)
{
  g_autoptr(GEnumClass) klass = g_type_class_ref (enum_type);
  GEnumValue *v = g_enum_get_value (klass, value);

  /* The class stays alive for the life of the process (static types are
   * never unloaded), so the nick outlives the reference dropped here. */
  return v ? v->value_nick : "unknown";
}

gboolean
dt_enum_from_nick (GType       enum_type,
                   const char *nick,
                   int        *value)
{
  g_autoptr(GEnumClass) klass = g_type_class_ref (enum_type);
  GEnumValue *v = nick ? g_enum_get_value_by_nick (klass, nick) : NULL;

  if (v == NULL)
    return FALSE;
  if (value)
    *value = v->value;
  return TRUE;
}

/* "a, b, c": for error messages that tell the user what is allowed. */
char *
dt_enum_list_nicks (GType enum_type)
{
  g_autoptr(GEnumClass) klass = g_type_class_ref (enum_type);
  GString *out = g_string_new (NULL);

  for (guint i = 0; i < klass->n_values; i++)
    {
      if (i > 0)
        g_string_append (out, ", ");
      g_string_append (out, klass->values[i].value_nick);
    }
  return g_string_free (out, FALSE);
}

#define BIT(s) (1u << (s))

gboolean
dt_account_state_can_change (DtAccountState from,
                             DtAccountState to)
{
  static const guint allowed[] = {
    [DT_ACCOUNT_STATE_DISABLED] =
      BIT (DT_ACCOUNT_STATE_UNREGISTERED) | BIT (DT_ACCOUNT_STATE_REGISTERING),
    [DT_ACCOUNT_STATE_UNREGISTERED] =
      BIT (DT_ACCOUNT_STATE_REGISTERING) | BIT (DT_ACCOUNT_STATE_DISABLED) |
      BIT (DT_ACCOUNT_STATE_FAILED),
    [DT_ACCOUNT_STATE_REGISTERING] =
      BIT (DT_ACCOUNT_STATE_REGISTERED) | BIT (DT_ACCOUNT_STATE_FAILED) |
      BIT (DT_ACCOUNT_STATE_UNREGISTERING) | BIT (DT_ACCOUNT_STATE_UNREGISTERED) |
      BIT (DT_ACCOUNT_STATE_DISABLED),
    [DT_ACCOUNT_STATE_REGISTERED] =
      BIT (DT_ACCOUNT_STATE_REGISTERING) | BIT (DT_ACCOUNT_STATE_UNREGISTERING) |
      BIT (DT_ACCOUNT_STATE_UNREGISTERED) | BIT (DT_ACCOUNT_STATE_FAILED) |
      BIT (DT_ACCOUNT_STATE_DISABLED),
    [DT_ACCOUNT_STATE_UNREGISTERING] =
      BIT (DT_ACCOUNT_STATE_UNREGISTERED) | BIT (DT_ACCOUNT_STATE_DISABLED) |
      BIT (DT_ACCOUNT_STATE_FAILED),
    [DT_ACCOUNT_STATE_FAILED] =
      BIT (DT_ACCOUNT_STATE_REGISTERING) | BIT (DT_ACCOUNT_STATE_UNREGISTERED) |
      BIT (DT_ACCOUNT_STATE_DISABLED),
  };

  if ((guint) from >= G_N_ELEMENTS (allowed) || (guint) to >= G_N_ELEMENTS (allowed))
    return FALSE;
  return (allowed[from] & BIT (to)) != 0;
}

gboolean
dt_call_state_can_change (DtCallState from,
                          DtCallState to)
{
  static const guint allowed[] = {
    [DT_CALL_STATE_DIALING] =
      BIT (DT_CALL_STATE_RINGING_OUT) | BIT (DT_CALL_STATE_EARLY_MEDIA) |
      BIT (DT_CALL_STATE_ACTIVE) | BIT (DT_CALL_STATE_TERMINATED),
    [DT_CALL_STATE_RINGING_OUT] =
      BIT (DT_CALL_STATE_EARLY_MEDIA) | BIT (DT_CALL_STATE_ACTIVE) |
      BIT (DT_CALL_STATE_TERMINATED),
    [DT_CALL_STATE_EARLY_MEDIA] =
      BIT (DT_CALL_STATE_RINGING_OUT) | BIT (DT_CALL_STATE_ACTIVE) |
      BIT (DT_CALL_STATE_TERMINATED),
    [DT_CALL_STATE_INCOMING] =
      BIT (DT_CALL_STATE_ACTIVE) | BIT (DT_CALL_STATE_TERMINATED),
    [DT_CALL_STATE_ACTIVE] =
      BIT (DT_CALL_STATE_HELD) | BIT (DT_CALL_STATE_REMOTE_HELD) |
      BIT (DT_CALL_STATE_TERMINATED),
    [DT_CALL_STATE_HELD] =
      BIT (DT_CALL_STATE_ACTIVE) | BIT (DT_CALL_STATE_REMOTE_HELD) |
      BIT (DT_CALL_STATE_TERMINATED),
    [DT_CALL_STATE_REMOTE_HELD] =
      BIT (DT_CALL_STATE_ACTIVE) | BIT (DT_CALL_STATE_HELD) |
      BIT (DT_CALL_STATE_TERMINATED),
    [DT_CALL_STATE_TERMINATED] = 0,
  };

  if ((guint) from >= G_N_ELEMENTS (allowed) || (guint) to >= G_N_ELEMENTS (allowed))
    return FALSE;
  return (allowed[from] & BIT (to)) != 0;
}
