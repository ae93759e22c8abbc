#include "dtctl.h"

static JsonNode *
paths_to_json (const char * const *paths)
{
  JsonArray *array = json_array_new ();
  JsonNode *node = json_node_new (JSON_NODE_ARRAY);

  for (const char * const *p = paths; p && *p; p++)
    json_array_add_string_element (array, *p);
  /* json_node_init_array would take a reference of its own. */
  json_node_take_array (node, array);
  return node;
}

static void
print_paths (const char         *label,
             const char * const *paths)
{
  if (paths == NULL || *paths == NULL)
    {
      g_print ("%-10s none\n", label);
      return;
    }
  g_print ("%-10s %u\n", label, g_strv_length ((char **) paths));
  for (const char * const *p = paths; *p; p++)
    g_print ("  %s\n", *p);
}

int
dtctl_cmd_status (DtCtl              *ctl,
                  const DtCtlCommand *command,
                  int                 argc,
                  char              **argv)
{
  DtGenManager *manager;
  int status;

  if (!dtctl_parse_options (ctl, command, NULL, &argc, &argv, 0, 0, &status))
    return status;
  if ((status = dtctl_connect (ctl)) != DTCTL_EXIT_OK)
    return status;
  manager = ctl->manager;

  if (ctl->json)
    {
      g_autoptr(JsonBuilder) builder = json_builder_new ();
      g_autoptr(JsonNode) root = NULL;

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "version");
      json_builder_add_string_value (builder, dt_gen_manager_get_version (manager));
      json_builder_set_member_name (builder, "bus");
      json_builder_add_string_value (builder, dtctl_bus_name (ctl));
      json_builder_set_member_name (builder, "log-level");
      json_builder_add_string_value (builder, dt_gen_manager_get_log_level (manager));
      json_builder_set_member_name (builder, "accounts");
      json_builder_add_value (builder, paths_to_json (dt_gen_manager_get_accounts (manager)));
      json_builder_set_member_name (builder, "calls");
      json_builder_add_value (builder, paths_to_json (dt_gen_manager_get_calls (manager)));
      json_builder_end_object (builder);
      root = json_builder_get_root (builder);
      return dtctl_print_json (root);
    }

  g_print ("dialtoned %s on the %s bus\n", dt_gen_manager_get_version (manager),
           dtctl_bus_name (ctl));
  g_print ("%-10s %s\n", "Log level", dt_gen_manager_get_log_level (manager));
  print_paths ("Accounts", dt_gen_manager_get_accounts (manager));
  print_paths ("Calls", dt_gen_manager_get_calls (manager));
  return DTCTL_EXIT_OK;
}

int
dtctl_cmd_log_level (DtCtl              *ctl,
                     const DtCtlCommand *command,
                     int                 argc,
                     char              **argv)
{
  g_autoptr(GError) error = NULL;
  int status;

  if (!dtctl_parse_options (ctl, command, NULL, &argc, &argv, 0, 1, &status))
    return status;
  if ((status = dtctl_connect (ctl)) != DTCTL_EXIT_OK)
    return status;

  if (argc == 2 &&
      !dt_gen_manager_call_set_log_level_sync (ctl->manager, argv[1], NULL, &error))
    return dtctl_fail (ctl, error);

  if (argc == 2)
    return DTCTL_EXIT_OK;

  if (ctl->json)
    {
      g_autoptr(JsonNode) node = json_node_init_string (json_node_alloc (),
                                                        dt_gen_manager_get_log_level (ctl->manager));
      return dtctl_print_json (node);
    }
  g_print ("%s\n", dt_gen_manager_get_log_level (ctl->manager));
  return DTCTL_EXIT_OK;
}
