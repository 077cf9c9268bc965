// Clock implementations are header-only; this unit anchors the module's library.
#include "pulse/presence/clock.hpp"
