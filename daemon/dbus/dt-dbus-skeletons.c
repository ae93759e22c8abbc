#include "dt-dbus-skeletons.h"

typedef struct {
  DtDbusPropertyWriter writer;
  gpointer             user_data;
} Writer;

typedef struct {
  DtDbusPropertyReader reader;
  gpointer             user_data;
} Reader;

static GQuark
writer_quark (void)
{
  return g_quark_from_static_string ("dt-dbus-property-writer");
}

static GQuark
reader_quark (void)
{
  return g_quark_from_static_string ("dt-dbus-property-reader");
}

/* The generated class our subclass derives from. */
static GDBusInterfaceSkeletonClass *
generated_class (gpointer skeleton)
{
  return g_type_class_peek_parent (G_OBJECT_GET_CLASS (skeleton));
}

static GVariant *
read_live (GDBusInterfaceSkeleton *skeleton,
           const char             *property_name)
{
  Reader *r = g_object_get_qdata (G_OBJECT (skeleton), reader_quark ());
  GVariant *value = r ? r->reader (skeleton, property_name, r->user_data) : NULL;

  return value ? g_variant_ref_sink (value) : NULL;
}

static GVariant *
live_get_property (GDBusConnection  *connection,
                   const char       *sender,
                   const char       *object_path,
                   const char       *interface_name,
                   const char       *property_name,
                   GError          **error,
                   gpointer          user_data)
{
  GDBusInterfaceSkeleton *skeleton = user_data;
  GVariant *value = read_live (skeleton, property_name);

  if (value != NULL)
    return value;
  return generated_class (skeleton)->get_vtable (skeleton)->get_property (
    connection, sender, object_path, interface_name, property_name, error, user_data);
}

/* What InterfacesAdded and GetManagedObjects carry. */
static GVariant *
live_get_properties (GDBusInterfaceSkeleton *skeleton)
{
  g_autoptr(GVariant) stored = generated_class (skeleton)->get_properties (skeleton);
  GVariantBuilder b;
  GVariantIter iter;
  const char *name;
  GVariant *value;

  if (g_object_get_qdata (G_OBJECT (skeleton), reader_quark ()) == NULL)
    return g_steal_pointer (&stored);
  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  g_variant_iter_init (&iter, stored);
  while (g_variant_iter_next (&iter, "{&sv}", &name, &value))
    {
      g_autoptr(GVariant) live = read_live (skeleton, name);

      g_variant_builder_add (&b, "{sv}", name, live ? live : value);
      g_variant_unref (value);
    }
  return g_variant_builder_end (&b);
}

void
dt_dbus_skeleton_set_reader (gpointer             skeleton,
                             DtDbusPropertyReader reader,
                             gpointer             user_data)
{
  Reader *r;

  if (reader == NULL)
    {
      g_object_set_qdata (G_OBJECT (skeleton), reader_quark (), NULL);
      return;
    }
  r = g_new0 (Reader, 1);
  r->reader = reader;
  r->user_data = user_data;
  g_object_set_qdata_full (G_OBJECT (skeleton), reader_quark (), r, g_free);
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

/* One vtable per class: the generated one with set_property replaced, and
 * get_property asking the reader first. */
static GDBusInterfaceVTable *
guarded_vtable (GDBusInterfaceVTable *parent)
{
  GDBusInterfaceVTable *vtable = g_new0 (GDBusInterfaceVTable, 1);

  *vtable = *parent;
  vtable->set_property = guarded_set_property;
  vtable->get_property = live_get_property;
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
  G_DBUS_INTERFACE_SKELETON_CLASS (klass)->get_properties = live_get_properties;
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
  G_DBUS_INTERFACE_SKELETON_CLASS (klass)->get_properties = live_get_properties;
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
  G_DBUS_INTERFACE_SKELETON_CLASS (klass)->get_properties = live_get_properties;
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
