// liblz4's block API, as shipped by Debian's liblz4-dev.
#include <lz4.h>
