#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Finds where a SIP URI's host is, with GLib's resolver (SRV, then A/AAAA,
 * in GLib's worker threads), and returns the URI with ";maddr=ADDRESS" and
 * the port added. Sofia then sends to that address without resolving
 * anything itself: its own resolver spins on the main thread when the name
 * server is unreachable. The host name stays in the URI, so TLS still
 * checks the server's certificate against it. IP literals and URIs with
 * maddr come back unchanged.
 *
 * Errors: G_RESOLVER_ERROR (not found, temporary failure). */
void  dt_sip_resolve_uri_async  (const char          *uri,
                                 const char          *transport,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data);
char *dt_sip_resolve_uri_finish (GAsyncResult        *result,
                                 GError             **error);

G_END_DECLS
