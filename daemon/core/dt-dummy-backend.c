#include "dt-dummy-backend.h"

struct _DtDummyBackend {
  GObject parent_instance;
  guint   shutdown_count;
};

static void dt_dummy_backend_iface_init (DtBackendInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (DtDummyBackend, dt_dummy_backend, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (DT_TYPE_BACKEND,
                                                      dt_dummy_backend_iface_init))

static const char *
dummy_get_name (DtBackend *backend)
{
  return "dummy";
}

static void
dummy_shutdown_async (DtBackend           *backend,
                      GCancellable        *cancellable,
                      GAsyncReadyCallback  callback,
                      gpointer             user_data)
{
  DtDummyBackend *self = DT_DUMMY_BACKEND (backend);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, dummy_shutdown_async);
  self->shutdown_count++;
  /* GTask completes from an idle when returned now: asynchronous, as a
   * real stack would be. */
  g_task_return_boolean (task, TRUE);
}

static gboolean
dummy_shutdown_finish (DtBackend     *backend,
                       GAsyncResult  *result,
                       GError       **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
dt_dummy_backend_iface_init (DtBackendInterface *iface)
{
  iface->get_name = dummy_get_name;
  iface->shutdown_async = dummy_shutdown_async;
  iface->shutdown_finish = dummy_shutdown_finish;
}

static void
dt_dummy_backend_class_init (DtDummyBackendClass *klass)
{
}

static void
dt_dummy_backend_init (DtDummyBackend *self)
{
}

DtDummyBackend *
dt_dummy_backend_new (void)
{
  return g_object_new (DT_TYPE_DUMMY_BACKEND, NULL);
}

guint
dt_dummy_backend_get_shutdown_count (DtDummyBackend *self)
{
  return self->shutdown_count;
}
