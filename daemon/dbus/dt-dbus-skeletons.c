#include "dt-dbus-skeletons.h"

typedef struct {
  DtDbusPropertyWriter writer;
  gpointer             user_data;
} Writer;

static GQuark
writer_quark (void)
{
  return g_quark_from_static_string ("dt-dbus-property-writer");
}

static gboolean
guarded_set_property (GDBusConnection  *connection,
                      const char       *sender,
                      const char       *object_path,
                      const char       *interface_name,
                      const char       *property_name,
                      GVariant         *value,
                      GError          **error,
                      gpointer          user_data)
{
  /* GDBus registers a skeleton's vtable with the skeleton as user data. */
  GDBusInterfaceSkeleton *skeleton = user_data;
  Writer *w = g_object_get_qdata (G_OBJECT (skeleton), writer_quark ());

  if (w == NULL)
    {
      g_set_error (error, G_DBUS_ERROR, G_DBUS_ERROR_PROPERTY_READ_ONLY,
                   "%s is not writable", property_name);
      return FALSE;
    }
  return w->writer (skeleton, property_name, value, w->user_data, error);
}

/* One vtable per class: the generated one with set_property replaced. */
static GDBusInterfaceVTable *
guarded_vtable (GDBusInterfaceVTable *parent)
{
  GDBusInterfaceVTable *vtable = g_new0 (GDBusInterfaceVTable, 1);

  *vtable = *parent;
  vtable->set_property = guarded_set_property;
  return vtable;
}

static void
attach_writer (gpointer             skeleton,
               DtDbusPropertyWriter writer,
               gpointer             user_data)
{
  Writer *w = g_new0 (Writer, 1);

  w->writer = writer;
  w->user_data = user_data;
  g_object_set_qdata_full (G_OBJECT (skeleton), writer_quark (), w, g_free);
}

struct _DtDbusManagerSkeleton {
  DtGenManagerSkeleton parent_instance;
};

G_DEFINE_FINAL_TYPE (DtDbusManagerSkeleton, dt_dbus_manager_skeleton, DT_GEN_TYPE_MANAGER_SKELETON)

static GDBusInterfaceVTable *
manager_get_vtable (GDBusInterfaceSkeleton *skeleton)
{
  static GDBusInterfaceVTable *vtable;

  if (vtable == NULL)
    vtable = guarded_vtable (G_DBUS_INTERFACE_SKELETON_CLASS (dt_dbus_manager_skeleton_parent_class)
                               ->get_vtable (skeleton));
  return vtable;
}

static void
dt_dbus_manager_skeleton_class_init (DtDbusManagerSkeletonClass *klass)
{
  G_DBUS_INTERFACE_SKELETON_CLASS (klass)->get_vtable = manager_get_vtable;
}

static void
dt_dbus_manager_skeleton_init (DtDbusManagerSkeleton *self)
{
}

DtGenManager *
dt_dbus_manager_skeleton_new (DtDbusPropertyWriter writer,
                              gpointer             user_data)
{
  DtGenManager *skeleton = g_object_new (DT_TYPE_DBUS_MANAGER_SKELETON, NULL);

  attach_writer (skeleton, writer, user_data);
  return skeleton;
}

struct _DtDbusAccountSkeleton {
  DtGenAccountSkeleton parent_instance;
};

G_DEFINE_FINAL_TYPE (DtDbusAccountSkeleton, dt_dbus_account_skeleton, DT_GEN_TYPE_ACCOUNT_SKELETON)

static GDBusInterfaceVTable *
account_get_vtable (GDBusInterfaceSkeleton *skeleton)
{
  static GDBusInterfaceVTable *vtable;

  if (vtable == NULL)
    vtable = guarded_vtable (G_DBUS_INTERFACE_SKELETON_CLASS (dt_dbus_account_skeleton_parent_class)
                               ->get_vtable (skeleton));
  return vtable;
}

static void
dt_dbus_account_skeleton_class_init (DtDbusAccountSkeletonClass *klass)
{
  G_DBUS_INTERFACE_SKELETON_CLASS (klass)->get_vtable = account_get_vtable;
}

static void
dt_dbus_account_skeleton_init (DtDbusAccountSkeleton *self)
{
}

DtGenAccount *
dt_dbus_account_skeleton_new (DtDbusPropertyWriter writer,
                              gpointer             user_data)
{
  DtGenAccount *skeleton = g_object_new (DT_TYPE_DBUS_ACCOUNT_SKELETON, NULL);

  attach_writer (skeleton, writer, user_data);
  return skeleton;
}

struct _DtDbusCallSkeleton {
  DtGenCallSkeleton parent_instance;
};

G_DEFINE_FINAL_TYPE (DtDbusCallSkeleton, dt_dbus_call_skeleton, DT_GEN_TYPE_CALL_SKELETON)

static GDBusInterfaceVTable *
call_get_vtable (GDBusInterfaceSkeleton *skeleton)
{
  static GDBusInterfaceVTable *vtable;

  if (vtable == NULL)
    vtable = guarded_vtable (G_DBUS_INTERFACE_SKELETON_CLASS (dt_dbus_call_skeleton_parent_class)
                               ->get_vtable (skeleton));
  return vtable;
}

static void
dt_dbus_call_skeleton_class_init (DtDbusCallSkeletonClass *klass)
{
  G_DBUS_INTERFACE_SKELETON_CLASS (klass)->get_vtable = call_get_vtable;
}

static void
dt_dbus_call_skeleton_init (DtDbusCallSkeleton *self)
{
}

DtGenCall *
dt_dbus_call_skeleton_new (DtDbusPropertyWriter writer,
                           gpointer             user_data)
{
  DtGenCall *skeleton = g_object_new (DT_TYPE_DBUS_CALL_SKELETON, NULL);

  attach_writer (skeleton, writer, user_data);
  return skeleton;
}
