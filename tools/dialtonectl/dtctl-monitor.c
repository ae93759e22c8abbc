#include "dtctl.h"

#include <stdio.h>
#include <string.h>

#include <glib-unix.h>

/* One line per event, greppable as text and parseable as JSON lines. */

typedef struct {
  DtCtl     *ctl;
  GMainLoop *loop;
} Monitor;

static char *
now_text (void)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();

  return g_date_time_format (now, "%H:%M:%S.%f");
}

static const char *
short_interface (const char *name)
{
  return g_str_has_prefix (name, "org.dialtone.Phone1.") ? name + strlen ("org.dialtone.Phone1.")
                                                         : name;
}

static void
emit (Monitor    *m,
      const char *event,
      const char *path,
      const char *interface,
      const char *member,
      GVariant   *value)
{
  g_autofree char *time = now_text ();

  if (m->ctl->json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();
      g_autoptr(JsonGenerator) gen = json_generator_new ();
      g_autoptr(JsonNode) root = NULL;
      g_autofree char *text = NULL;

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "time");
      json_builder_add_int_value (b, g_get_real_time ());
      json_builder_set_member_name (b, "event");
      json_builder_add_string_value (b, event);
      json_builder_set_member_name (b, "path");
      json_builder_add_string_value (b, path);
      if (interface)
        {
          json_builder_set_member_name (b, "interface");
          json_builder_add_string_value (b, interface);
        }
      if (member)
        {
          json_builder_set_member_name (b, "member");
          json_builder_add_string_value (b, member);
        }
      if (value)
        {
          json_builder_set_member_name (b, "value");
          json_builder_add_value (b, json_gvariant_serialize (value));
        }
      json_builder_end_object (b);
      root = json_builder_get_root (b);
      json_generator_set_root (gen, root);
      text = json_generator_to_data (gen, NULL);
      g_print ("%s\n", text);
    }
  else
    {
      g_autofree char *shown = value ? g_variant_print (value, FALSE) : NULL;

      g_print ("%s %-8s %s%s%s%s%s%s%s\n", time, event, path,
               interface ? " " : "", interface ? short_interface (interface) : "",
               member ? "." : "", member ? member : "",
               shown ? " " : "", shown ? shown : "");
    }
}

static void
emit_properties (Monitor    *m,
                 const char *event,
                 const char *path,
                 const char *interface,
                 GVariant   *properties)
{
  GVariantIter iter;
  const char *name;
  GVariant *value;

  g_variant_iter_init (&iter, properties);
  while (g_variant_iter_next (&iter, "{&sv}", &name, &value))
    {
      emit (m, event, path, interface, name, value);
      g_variant_unref (value);
    }
}

static void
on_object_added (GDBusObjectManager *manager,
                 GDBusObject        *object,
                 Monitor            *m)
{
  GList *interfaces = g_dbus_object_get_interfaces (object);

  for (GList *l = interfaces; l; l = l->next)
    {
      GDBusProxy *proxy = G_DBUS_PROXY (l->data);
      g_auto(GStrv) names = g_dbus_proxy_get_cached_property_names (proxy);
      g_autoptr(GVariant) properties = NULL;
      GVariantBuilder b;

      g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
      for (char **n = names; n && *n; n++)
        {
          g_autoptr(GVariant) value = g_dbus_proxy_get_cached_property (proxy, *n);

          g_variant_builder_add (&b, "{sv}", *n, value);
        }
      properties = g_variant_ref_sink (g_variant_builder_end (&b));
      emit (m, "added", g_dbus_object_get_object_path (object),
            g_dbus_proxy_get_interface_name (proxy), NULL, properties);
    }
  g_list_free_full (interfaces, g_object_unref);
}

static void
on_object_removed (GDBusObjectManager *manager,
                   GDBusObject        *object,
                   Monitor            *m)
{
  emit (m, "removed", g_dbus_object_get_object_path (object), NULL, NULL, NULL);
}

static void
on_properties_changed (GDBusObjectManagerClient *manager,
                       GDBusObjectProxy         *object,
                       GDBusProxy               *proxy,
                       GVariant                 *changed,
                       GStrv                     invalidated,
                       Monitor                  *m)
{
  emit_properties (m, "changed", g_dbus_proxy_get_object_path (proxy),
                   g_dbus_proxy_get_interface_name (proxy), changed);
}

static void
on_signal (GDBusObjectManagerClient *manager,
           GDBusObjectProxy         *object,
           GDBusProxy               *proxy,
           const char               *sender,
           const char               *signal_name,
           GVariant                 *parameters,
           Monitor                  *m)
{
  emit (m, "signal", g_dbus_proxy_get_object_path (proxy),
        g_dbus_proxy_get_interface_name (proxy), signal_name, parameters);
}

static void
on_manager_changed (GDBusProxy *proxy,
                    GVariant   *changed,
                    GStrv       invalidated,
                    Monitor    *m)
{
  emit_properties (m, "changed", g_dbus_proxy_get_object_path (proxy),
                   g_dbus_proxy_get_interface_name (proxy), changed);
}

static void
on_owner_changed (GObject    *object,
                  GParamSpec *pspec,
                  Monitor    *m)
{
  g_autofree char *owner = g_dbus_object_manager_client_get_name_owner (G_DBUS_OBJECT_MANAGER_CLIENT (object));

  emit (m, owner ? "started" : "stopped", "/org/dialtone/Phone1", NULL, NULL, NULL);
}

static gboolean
on_stop (gpointer user_data)
{
  g_main_loop_quit (((Monitor *) user_data)->loop);
  return G_SOURCE_REMOVE;
}

int
dtctl_cmd_monitor (DtCtl              *ctl,
                   const DtCtlCommand *command,
                   int                 argc,
                   char              **argv)
{
  double timeout = 0;
  GOptionEntry entries[] = {
    { "timeout", 't', 0, G_OPTION_ARG_DOUBLE, &timeout, "Stop after this long (default: at Ctrl-C)", "SECONDS" },
    { NULL }
  };
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  Monitor m = { .ctl = ctl, .loop = loop };
  guint sigint, sigterm, timer = 0;
  int status;

  if (!dtctl_parse_options (ctl, command, entries, &argc, &argv, 0, 0, &status) ||
      (status = dtctl_check_timeout (timeout)) != DTCTL_EXIT_OK ||
      (status = dtctl_connect (ctl)) != DTCTL_EXIT_OK)
    return status;

  /* Line by line, so a pipe sees each event as it happens. */
  setvbuf (stdout, NULL, _IOLBF, 0);
  g_signal_connect (ctl->objects, "object-added", G_CALLBACK (on_object_added), &m);
  g_signal_connect (ctl->objects, "object-removed", G_CALLBACK (on_object_removed), &m);
  g_signal_connect (ctl->objects, "interface-proxy-properties-changed",
                    G_CALLBACK (on_properties_changed), &m);
  g_signal_connect (ctl->objects, "interface-proxy-signal", G_CALLBACK (on_signal), &m);
  g_signal_connect (ctl->objects, "notify::name-owner", G_CALLBACK (on_owner_changed), &m);
  g_signal_connect (ctl->manager, "g-properties-changed", G_CALLBACK (on_manager_changed), &m);

  sigint = g_unix_signal_add (SIGINT, on_stop, &m);
  sigterm = g_unix_signal_add (SIGTERM, on_stop, &m);
  if (timeout > 0)
    timer = g_timeout_add ((guint) (timeout * 1000), on_stop, &m);
  if (!ctl->json)
    g_printerr ("Monitoring dialtoned on the %s bus; Ctrl-C stops.\n", dtctl_bus_name (ctl));
  g_main_loop_run (loop);

  g_source_remove (sigint);
  g_source_remove (sigterm);
  if (timer != 0 && g_main_context_find_source_by_id (NULL, timer) != NULL)
    g_source_remove (timer);
  g_signal_handlers_disconnect_by_data (ctl->objects, &m);
  g_signal_handlers_disconnect_by_data (ctl->manager, &m);
  return DTCTL_EXIT_OK;
}
