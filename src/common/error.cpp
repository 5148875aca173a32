// Anchors greentrain_common's object file; the error types are header-only.
#include "common/error.h"
