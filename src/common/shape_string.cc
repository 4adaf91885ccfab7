// See shape_string.h.
#include "common/shape_string.h"

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace mec {

bool parse_shape(const std::string& text, Conv2dDesc* desc, std::string* error) {
  Conv2dDesc d;
  size_t i = 0;
  while (i < text.size()) {
    size_t key_end = i;
    while (key_end < text.size() && std::islower(static_cast<unsigned char>(text[key_end]))) {
      ++key_end;
    }
    size_t value_end = key_end;
    while (value_end < text.size() && std::isdigit(static_cast<unsigned char>(text[value_end]))) {
      ++value_end;
    }
    if (key_end == i || value_end == key_end) {
      *error = "bad token at '" + text.substr(i) + "' in shape '" + text + "'";
      return false;
    }
    const std::string key = text.substr(i, key_end - i);
    const int64_t v = std::strtoll(text.substr(key_end, value_end - key_end).c_str(), nullptr, 10);
    i = value_end;
    if (key == "n")
      d.n = v;
    else if (key == "h")
      d.h = v;
    else if (key == "w")
      d.w = v;
    else if (key == "c")
      d.c = v;
    else if (key == "k")
      d.k = v;
    else if (key == "r")
      d.r = v;
    else if (key == "s")
      d.s = v;
    else if (key == "g")
      d.groups = v;
    else if (key == "p")
      d.pad_top = d.pad_bottom = d.pad_left = d.pad_right = v;
    else if (key == "pt")
      d.pad_top = v;
    else if (key == "pb")
      d.pad_bottom = v;
    else if (key == "pl")
      d.pad_left = v;
    else if (key == "pr")
      d.pad_right = v;
    else if (key == "u")
      d.stride_h = d.stride_w = v;
    else if (key == "uh")
      d.stride_h = v;
    else if (key == "uw")
      d.stride_w = v;
    else if (key == "d")
      d.dilation_h = d.dilation_w = v;
    else if (key == "dh")
      d.dilation_h = v;
    else if (key == "dw")
      d.dilation_w = v;
    else {
      *error = "unknown key '" + key + "' in shape '" + text + "'";
      return false;
    }
  }
  if (text.empty()) {
    *error = "empty shape";
    return false;
  }
  *desc = d;
  return true;
}

std::string format_shape(const Conv2dDesc& d) {
  std::ostringstream out;
  out << 'n' << d.n << 'h' << d.h << 'w' << d.w << 'c' << d.c << 'k' << d.k << 'r' << d.r << 's'
      << d.s;
  if (d.pad_top == d.pad_bottom && d.pad_top == d.pad_left && d.pad_top == d.pad_right) {
    if (d.pad_top) out << 'p' << d.pad_top;
  } else {
    out << "pt" << d.pad_top << "pb" << d.pad_bottom << "pl" << d.pad_left << "pr" << d.pad_right;
  }
  if (d.stride_h == d.stride_w) {
    if (d.stride_h != 1) out << 'u' << d.stride_h;
  } else {
    out << "uh" << d.stride_h << "uw" << d.stride_w;
  }
  if (d.dilation_h == d.dilation_w) {
    if (d.dilation_h != 1) out << 'd' << d.dilation_h;
  } else {
    out << "dh" << d.dilation_h << "dw" << d.dilation_w;
  }
  if (d.groups != 1) out << 'g' << d.groups;
  return out.str();
}

bool read_shape_file(const std::string& path, std::vector<NamedShape>* shapes, std::string* error) {
  std::ifstream in(path);
  if (!in) {
    *error = "cannot open shape file " + path;
    return false;
  }
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    line = line.substr(0, line.find('#'));
    std::istringstream fields(line);
    NamedShape shape;
    std::string text;
    if (!(fields >> shape.name)) continue;
    if (!(fields >> text)) {
      *error = path + ":" + std::to_string(line_no) + ": expected 'name shape'";
      return false;
    }
    if (!parse_shape(text, &shape.desc, error)) {
      *error = path + ":" + std::to_string(line_no) + ": " + *error;
      return false;
    }
    shapes->push_back(shape);
  }
  return true;
}

}  // namespace mec
