#include "dt-error.h"

G_DEFINE_QUARK (dt-error-quark, dt_error)
