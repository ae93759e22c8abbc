#include "dt-sip-resolver.h"

#include <string.h>

#include <sofia-sip/su_config.h>
#include <sofia-sip/sofia_features.h>
#include <sofia-sip/su_alloc.h>
#include <sofia-sip/url.h>

typedef struct {
  char    *uri;
  char    *host;
  guint16  port;
  gboolean tls;
} Lookup;

static void
lookup_free (Lookup *l)
{
  g_free (l->uri);
  g_free (l->host);
  g_free (l);
}

static void
finish_with_address (GTask        *task,
                     GInetAddress *address,
                     guint16       port)
{
  Lookup *l = g_task_get_task_data (task);
  g_autofree char *ip = g_inet_address_to_string (address);
  su_home_t home[1] = { SU_HOME_INIT (home) };
  url_t *url = url_make (home, l->uri);
  g_autofree char *port_text = g_strdup_printf ("%u", port);
  g_autofree char *maddr = g_inet_address_get_family (address) == G_SOCKET_FAMILY_IPV6
                             ? g_strdup_printf ("maddr=[%s]", ip)
                             : g_strdup_printf ("maddr=%s", ip);
  char *text;

  url->url_port = port_text;
  url_param_add (home, url, maddr);
  text = url_as_string (home, url);
  g_task_return_pointer (task, g_strdup (text), g_free);
  su_home_deinit (home);
}

static void
on_addresses (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  Lookup *l = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  GList *addresses = g_resolver_lookup_by_name_finish (G_RESOLVER (source), result, &error);

  if (addresses == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  finish_with_address (task, addresses->data, l->port);
  g_resolver_free_addresses (addresses);
}

static void
lookup_host (GTask      *task,
             const char *host)
{
  g_resolver_lookup_by_name_async (g_resolver_get_default (), host,
                                   g_task_get_cancellable (task), on_addresses, task);
}

static void
on_service (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  GTask *task = user_data;
  Lookup *l = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  GList *targets = g_resolver_lookup_service_finish (G_RESOLVER (source), result, &error);

  if (targets == NULL)
    {
      /* No SRV records: RFC 3263 falls back to the host's own address. */
      if (g_error_matches (error, G_RESOLVER_ERROR, G_RESOLVER_ERROR_NOT_FOUND))
        {
          lookup_host (task, l->host);
          return;
        }
      g_task_return_error (task, g_steal_pointer (&error));
      g_object_unref (task);
      return;
    }
  /* GLib sorts targets by priority and weight. */
  l->port = g_srv_target_get_port (targets->data);
  lookup_host (task, g_srv_target_get_hostname (targets->data));
  g_resolver_free_targets (targets);
}

void
dt_sip_resolve_uri_async (const char          *uri,
                          const char          *transport,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  GTask *task = g_task_new (NULL, cancellable, callback, user_data);
  su_home_t home[1] = { SU_HOME_INIT (home) };
  url_t *url = url_make (home, uri);
  Lookup *l = g_new0 (Lookup, 1);

  g_task_set_source_tag (task, dt_sip_resolve_uri_async);
  g_task_set_task_data (task, l, (GDestroyNotify) lookup_free);
  l->uri = g_strdup (uri);

  if (url == NULL || url->url_host == NULL)
    {
      su_home_deinit (home);
      g_task_return_new_error (task, G_RESOLVER_ERROR, G_RESOLVER_ERROR_NOT_FOUND,
                               "'%s' has no host", uri);
      g_object_unref (task);
      return;
    }
  l->host = g_strdup (url->url_host);
  l->tls = url->url_type == url_sips || g_strcmp0 (transport, "tls") == 0;

  if (g_hostname_is_ip_address (l->host) || (url->url_params && strstr (url->url_params, "maddr=")))
    {
      su_home_deinit (home);
      g_task_return_pointer (task, g_strdup (uri), g_free);
      g_object_unref (task);
      return;
    }

  if (url->url_port != NULL)
    {
      l->port = (guint16) g_ascii_strtoull (url->url_port, NULL, 10);
      su_home_deinit (home);
      lookup_host (task, l->host);
      return;
    }
  su_home_deinit (home);

  l->port = l->tls ? 5061 : 5060;
  g_resolver_lookup_service_async (g_resolver_get_default (), l->tls ? "sips" : "sip",
                                   g_strcmp0 (transport, "udp") == 0 ? "udp" : "tcp",
                                   l->host, cancellable, on_service, task);
}

char *
dt_sip_resolve_uri_finish (GAsyncResult  *result,
                           GError       **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}
