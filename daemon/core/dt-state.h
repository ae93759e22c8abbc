#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

/* States are exported as lower-case strings from closed sets (the enum
 * nicks), always paired with a reason. Accounts and calls share this
 * machinery so every object reports state the same way. */

typedef enum {
  DT_ACCOUNT_STATE_DISABLED,
  DT_ACCOUNT_STATE_UNREGISTERED,
  DT_ACCOUNT_STATE_REGISTERING,
  DT_ACCOUNT_STATE_REGISTERED,
  DT_ACCOUNT_STATE_UNREGISTERING,
  DT_ACCOUNT_STATE_FAILED,
} DtAccountState;

typedef enum {
  DT_ACCOUNT_STATE_REASON_NONE,
  DT_ACCOUNT_STATE_REASON_USER_REQUEST,
  DT_ACCOUNT_STATE_REASON_AUTH_FAILED,
  DT_ACCOUNT_STATE_REASON_FORBIDDEN,
  DT_ACCOUNT_STATE_REASON_TIMEOUT,
  DT_ACCOUNT_STATE_REASON_DNS_ERROR,
  DT_ACCOUNT_STATE_REASON_NETWORK_DOWN,
  DT_ACCOUNT_STATE_REASON_TLS_ERROR,
  DT_ACCOUNT_STATE_REASON_SERVER_ERROR,
  DT_ACCOUNT_STATE_REASON_NO_CREDENTIALS,
  DT_ACCOUNT_STATE_REASON_NO_REGISTRAR,
  DT_ACCOUNT_STATE_REASON_SHUTDOWN,
} DtAccountStateReason;

typedef enum {
  DT_CALL_STATE_DIALING,
  DT_CALL_STATE_RINGING_OUT,
  DT_CALL_STATE_EARLY_MEDIA,
  DT_CALL_STATE_INCOMING,
  DT_CALL_STATE_ACTIVE,
  DT_CALL_STATE_HELD,
  DT_CALL_STATE_REMOTE_HELD,
  DT_CALL_STATE_TERMINATED,
} DtCallState;

typedef enum {
  DT_CALL_STATE_REASON_NONE,
  DT_CALL_STATE_REASON_LOCAL_HANGUP,
  DT_CALL_STATE_REASON_REMOTE_HANGUP,
  DT_CALL_STATE_REASON_BUSY,
  DT_CALL_STATE_REASON_DECLINED,
  DT_CALL_STATE_REASON_NO_ANSWER,
  DT_CALL_STATE_REASON_CANCELLED,
  DT_CALL_STATE_REASON_NOT_FOUND,
  DT_CALL_STATE_REASON_UNAVAILABLE,
  DT_CALL_STATE_REASON_TRANSFERRED,
  DT_CALL_STATE_REASON_MEDIA_FAILED,
  DT_CALL_STATE_REASON_TIMEOUT,
  DT_CALL_STATE_REASON_REJECTED,
  DT_CALL_STATE_REASON_NETWORK_ERROR,
  DT_CALL_STATE_REASON_SERVER_ERROR,
  DT_CALL_STATE_REASON_SHUTDOWN,
  DT_CALL_STATE_REASON_DAEMON_RESTART,
  DT_CALL_STATE_REASON_INCOMPATIBLE,
  DT_CALL_STATE_REASON_DO_NOT_DISTURB,
  DT_CALL_STATE_REASON_ENCRYPTION_REQUIRED,
} DtCallStateReason;

typedef enum {
  DT_CALL_DIRECTION_INCOMING,
  DT_CALL_DIRECTION_OUTGOING,
} DtCallDirection;

/* Transfer: how our REFER of a call is going (Call.TransferState). */
typedef enum {
  DT_CALL_TRANSFER_STATE_NONE,
  DT_CALL_TRANSFER_STATE_TRYING,
  DT_CALL_TRANSFER_STATE_ACCEPTED,
  DT_CALL_TRANSFER_STATE_SUCCEEDED,
  DT_CALL_TRANSFER_STATE_FAILED,
} DtCallTransferState;

const char *dt_enum_to_nick   (GType        enum_type,
                               int          value);
gboolean    dt_enum_from_nick (GType        enum_type,
                               const char  *nick,
                               int         *value);
char       *dt_enum_list_nicks (GType       enum_type);

gboolean    dt_account_state_can_change (DtAccountState from,
                                         DtAccountState to);
gboolean    dt_call_state_can_change    (DtCallState    from,
                                         DtCallState    to);

G_END_DECLS
