// Internal (tools and tests): compact shape strings and shape files.
//
// A shape string is a run of <key><integer> tokens, keys being lower-case
// letter runs:  n h w c k r s g      the descriptor fields (g = groups)
//               p | pt pb pl pr      all pads | top bottom left right
//               u | uh uw            stride both | vertical horizontal
//               d | dh dw            dilation both | vertical horizontal
// e.g. "n1h56w56c64k64r3s3p1" (ResNet 3x3), "h224w224c3k64r7s7p3u2".
// Unset fields keep Conv2dDesc's defaults (1, pads 0).
// A shape file has one layer per line, "name shape"; '#' starts a comment.
#pragma once

#include <string>
#include <vector>

#include "mec/conv.h"

namespace mec {

// Parses `text`; on failure returns false and sets *error.
bool parse_shape(const std::string& text, Conv2dDesc* desc, std::string* error);
// The canonical string of a descriptor (every non-default field).
std::string format_shape(const Conv2dDesc& desc);

struct NamedShape {
  std::string name;
  Conv2dDesc desc;
};
// Reads a shape file; on failure returns false and sets *error.
bool read_shape_file(const std::string& path, std::vector<NamedShape>* shapes, std::string* error);

}  // namespace mec
