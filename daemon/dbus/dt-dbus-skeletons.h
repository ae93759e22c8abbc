#pragma once

#include "dt-generated.h"

G_BEGIN_DECLS

/* Generated skeletons apply any Properties.Set blindly. These subclasses
 * hand writes to a writer function instead, which validates the value,
 * applies it to the core (whose change then flows back to the skeleton),
 * or fails the call with a named error. */

typedef gboolean (*DtDbusPropertyWriter) (GDBusInterfaceSkeleton  *skeleton,
                                          const char              *property,
                                          GVariant                *value,
                                          gpointer                 user_data,
                                          GError                 **error);

/* Properties whose value is only known when asked (Call.Statistics): the
 * reader returns it, or NULL for a property the skeleton holds itself.
 * Get, GetAll and the object manager's snapshots all ask it; a NULL
 * reader detaches it (the skeleton may outlive what the reader reads). */
typedef GVariant *(*DtDbusPropertyReader) (GDBusInterfaceSkeleton *skeleton,
                                           const char             *property,
                                           gpointer                user_data);

#define DT_TYPE_DBUS_MANAGER_SKELETON (dt_dbus_manager_skeleton_get_type ())
G_DECLARE_FINAL_TYPE (DtDbusManagerSkeleton, dt_dbus_manager_skeleton, DT, DBUS_MANAGER_SKELETON,
                      DtGenManagerSkeleton)

#define DT_TYPE_DBUS_ACCOUNT_SKELETON (dt_dbus_account_skeleton_get_type ())
G_DECLARE_FINAL_TYPE (DtDbusAccountSkeleton, dt_dbus_account_skeleton, DT, DBUS_ACCOUNT_SKELETON,
                      DtGenAccountSkeleton)

#define DT_TYPE_DBUS_CALL_SKELETON (dt_dbus_call_skeleton_get_type ())
G_DECLARE_FINAL_TYPE (DtDbusCallSkeleton, dt_dbus_call_skeleton, DT, DBUS_CALL_SKELETON,
                      DtGenCallSkeleton)

DtGenManager *dt_dbus_manager_skeleton_new (DtDbusPropertyWriter writer,
                                            gpointer             user_data);
DtGenAccount *dt_dbus_account_skeleton_new (DtDbusPropertyWriter writer,
                                            gpointer             user_data);
DtGenCall    *dt_dbus_call_skeleton_new    (DtDbusPropertyWriter writer,
                                            gpointer             user_data);

void          dt_dbus_skeleton_set_reader  (gpointer             skeleton,
                                            DtDbusPropertyReader reader,
                                            gpointer             user_data);

G_END_DECLS
