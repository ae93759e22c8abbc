#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* One error domain for everything a client can be told. The nicks are the
 * last component of the D-Bus error names (org.dialtone.Phone1.Error.<nick>);
 * the export layer registers them with GDBus. */
#define DT_ERROR (dt_error_quark ())

typedef enum {
  DT_ERROR_FAILED,            /*< nick=Failed >*/
  DT_ERROR_INVALID_ARGUMENTS, /*< nick=InvalidArguments >*/
  DT_ERROR_INVALID_STATE,     /*< nick=InvalidState >*/
  DT_ERROR_NOT_FOUND,         /*< nick=NotFound >*/
  DT_ERROR_ALREADY_EXISTS,    /*< nick=AlreadyExists >*/
  DT_ERROR_NOT_SUPPORTED,     /*< nick=NotSupported >*/
  DT_ERROR_NOT_REGISTERED,    /*< nick=NotRegistered >*/
  DT_ERROR_IN_PROGRESS,       /*< nick=InProgress >*/
  DT_ERROR_ACCESS_DENIED,     /*< nick=AccessDenied >*/
} DtError;

GQuark dt_error_quark (void);

G_END_DECLS
