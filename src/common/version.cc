// mec::version(): the version of the library that is running, from the one
// place it is written (include/mec/version.h).
#include "mec/version.h"

namespace mec {

#define MEC_VERSION_STRING2(a, b, c) #a "." #b "." #c
#define MEC_VERSION_STRING(a, b, c) MEC_VERSION_STRING2(a, b, c)

const char* version() {
  return MEC_VERSION_STRING(MEC_VERSION_MAJOR, MEC_VERSION_MINOR, MEC_VERSION_PATCH);
}

}  // namespace mec
