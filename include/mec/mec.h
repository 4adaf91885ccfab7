// Umbrella header for libmec: include this one.
#pragma once

#include "mec/conv.h"
#include "mec/status.h"
#include "mec/version.h"
