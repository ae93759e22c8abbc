#include <glib.h>

#include "core/dt-enum-types.h"
#include "core/dt-error.h"
#include "core/dt-log.h"
#include "core/dt-state.h"

/* Every state and reason is exported as a lower-case kebab-case nick that
 * round-trips, and every error nick is a valid D-Bus name component. */
static void
test_nicks_round_trip (void)
{
  GType types[] = {
    DT_TYPE_ACCOUNT_STATE, DT_TYPE_ACCOUNT_STATE_REASON,
    DT_TYPE_CALL_STATE, DT_TYPE_CALL_STATE_REASON, DT_TYPE_LOG_LEVEL,
  };
  g_autoptr(GRegex) kebab = g_regex_new ("^[a-z]+(-[a-z]+)*$", 0, 0, NULL);

  for (guint t = 0; t < G_N_ELEMENTS (types); t++)
    {
      g_autoptr(GEnumClass) klass = g_type_class_ref (types[t]);

      for (guint i = 0; i < klass->n_values; i++)
        {
          const char *nick = dt_enum_to_nick (types[t], klass->values[i].value);
          int back = -1;

          g_assert_true (g_regex_match (kebab, nick, 0, NULL));
          g_assert_true (dt_enum_from_nick (types[t], nick, &back));
          g_assert_cmpint (back, ==, klass->values[i].value);
        }
      g_assert_false (dt_enum_from_nick (types[t], "no-such-value", NULL));
      g_assert_false (dt_enum_from_nick (types[t], NULL, NULL));
      g_assert_cmpstr (dt_enum_to_nick (types[t], 9999), ==, "unknown");
    }
}

static void
test_error_names (void)
{
  g_autoptr(GEnumClass) klass = g_type_class_ref (DT_TYPE_ERROR);
  static const char * const expected[] = {
    "Failed", "InvalidArguments", "InvalidState", "NotFound", "AlreadyExists",
    "NotSupported", "NotRegistered", "InProgress", "AccessDenied",
  };

  g_assert_cmpuint (klass->n_values, ==, G_N_ELEMENTS (expected));
  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    g_assert_cmpstr (dt_enum_to_nick (DT_TYPE_ERROR, i), ==, expected[i]);
}

static void
test_call_transitions (void)
{
  g_autoptr(GEnumClass) klass = g_type_class_ref (DT_TYPE_CALL_STATE);

  /* Terminated is final; every other state can end. */
  for (guint i = 0; i < klass->n_values; i++)
    {
      g_assert_false (dt_call_state_can_change (DT_CALL_STATE_TERMINATED, i));
      g_assert_false (dt_call_state_can_change (i, i));
      if (i != DT_CALL_STATE_TERMINATED)
        g_assert_true (dt_call_state_can_change (i, DT_CALL_STATE_TERMINATED));
    }
  g_assert_true (dt_call_state_can_change (DT_CALL_STATE_INCOMING, DT_CALL_STATE_ACTIVE));
  g_assert_false (dt_call_state_can_change (DT_CALL_STATE_INCOMING, DT_CALL_STATE_RINGING_OUT));
  g_assert_false (dt_call_state_can_change (DT_CALL_STATE_ACTIVE, DT_CALL_STATE_DIALING));
  g_assert_true (dt_call_state_can_change (DT_CALL_STATE_HELD, DT_CALL_STATE_ACTIVE));
  g_assert_false (dt_call_state_can_change (99, DT_CALL_STATE_ACTIVE));
}

static void
test_account_transitions (void)
{
  g_autoptr(GEnumClass) klass = g_type_class_ref (DT_TYPE_ACCOUNT_STATE);

  /* Whatever happens, the user can always disable an account. */
  for (guint i = 0; i < klass->n_values; i++)
    if (i != DT_ACCOUNT_STATE_DISABLED)
      g_assert_true (dt_account_state_can_change (i, DT_ACCOUNT_STATE_DISABLED));
  g_assert_true (dt_account_state_can_change (DT_ACCOUNT_STATE_REGISTERING, DT_ACCOUNT_STATE_REGISTERED));
  g_assert_true (dt_account_state_can_change (DT_ACCOUNT_STATE_FAILED, DT_ACCOUNT_STATE_REGISTERING));
  g_assert_false (dt_account_state_can_change (DT_ACCOUNT_STATE_DISABLED, DT_ACCOUNT_STATE_REGISTERED));
  g_assert_false (dt_account_state_can_change (DT_ACCOUNT_STATE_UNREGISTERING, DT_ACCOUNT_STATE_REGISTERED));
}

static void
test_log_level_parse (void)
{
  g_autoptr(GError) error = NULL;
  DtLogLevel level = DT_LOG_LEVEL_ERROR;

  g_assert_true (dt_log_level_parse ("debug", &level, &error));
  g_assert_cmpint (level, ==, DT_LOG_LEVEL_DEBUG);
  g_assert_false (dt_log_level_parse ("DEBUG", &level, &error));
  g_assert_error (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS);
  g_assert_cmpint (level, ==, DT_LOG_LEVEL_DEBUG);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/state/nicks-round-trip", test_nicks_round_trip);
  g_test_add_func ("/state/error-names", test_error_names);
  g_test_add_func ("/state/call-transitions", test_call_transitions);
  g_test_add_func ("/state/account-transitions", test_account_transitions);
  g_test_add_func ("/state/log-level-parse", test_log_level_parse);
  return g_test_run ();
}
