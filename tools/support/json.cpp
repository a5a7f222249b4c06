#include "tools/support/json.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace hsapreempt::tools::json {

Value Value::Bool(bool b) {
  Value v;
  v.type_ = Type::kBool;
  v.bool_ = b;
  return v;
}
Value Value::Number(double d) {
  Value v;
  v.type_ = Type::kNumber;
  v.number_ = d;
  return v;
}
Value Value::String(std::string s) {
  Value v;
  v.type_ = Type::kString;
  v.string_ = std::move(s);
  return v;
}
Value Value::Array() {
  Value v;
  v.type_ = Type::kArray;
  return v;
}
Value Value::Object() {
  Value v;
  v.type_ = Type::kObject;
  return v;
}

const Value& Value::Get(const std::string& key) const {
  static const Value* null_value = new Value();  // never destroyed
  for (const auto& m : members_) {
    if (m.first == key) return m.second;
  }
  return *null_value;
}

bool Value::Has(const std::string& key) const {
  for (const auto& m : members_) {
    if (m.first == key) return true;
  }
  return false;
}

void Value::Set(const std::string& key, Value v) {
  for (auto& m : members_) {
    if (m.first == key) {
      m.second = std::move(v);
      return;
    }
  }
  members_.emplace_back(key, std::move(v));
}

namespace {

constexpr int kMaxDepth = 64;

class Parser {
 public:
  explicit Parser(const std::string& text) : s_(text) {}

  bool Run(Value* out, std::string* error) {
    bool ok = ParseValue(out, 0);
    if (ok) {
      SkipSpace();
      if (pos_ != s_.size()) ok = Fail("trailing characters");
    }
    if (!ok && error) *error = "offset " + std::to_string(pos_) + ": " + error_;
    return ok;
  }

 private:
  bool Fail(const char* why) {
    if (error_.empty()) error_ = why;
    return false;
  }
  void SkipSpace() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' ||
                                s_[pos_] == '\r')) {
      ++pos_;
    }
  }
  bool Literal(const char* word) {
    size_t n = std::strlen(word);
    if (s_.compare(pos_, n, word) != 0) return Fail("invalid literal");
    pos_ += n;
    return true;
  }

  bool ParseValue(Value* out, int depth) {
    if (depth > kMaxDepth) return Fail("nesting too deep");
    SkipSpace();
    if (pos_ >= s_.size()) return Fail("unexpected end of input");
    char c = s_[pos_];
    if (c == '{') return ParseObject(out, depth);
    if (c == '[') return ParseArray(out, depth);
    if (c == '"') {
      std::string str;
      if (!ParseString(&str)) return false;
      *out = Value::String(std::move(str));
      return true;
    }
    if (c == 't') {
      *out = Value::Bool(true);
      return Literal("true");
    }
    if (c == 'f') {
      *out = Value::Bool(false);
      return Literal("false");
    }
    if (c == 'n') {
      *out = Value();
      return Literal("null");
    }
    return ParseNumber(out);
  }

  bool ParseNumber(Value* out) {
    size_t start = pos_;
    if (pos_ < s_.size() && s_[pos_] == '-') ++pos_;
    size_t digits = pos_;
    while (pos_ < s_.size() && std::strchr("0123456789+-.eE", s_[pos_]) && s_[pos_] != '\0') ++pos_;
    if (pos_ == digits || !(s_[digits] >= '0' && s_[digits] <= '9')) {
      pos_ = start;
      return Fail("invalid value");
    }
    std::string num = s_.substr(start, pos_ - start);
    char* end = nullptr;
    double d = std::strtod(num.c_str(), &end);
    if (end != num.c_str() + num.size()) {
      pos_ = start;
      return Fail("invalid number");
    }
    *out = Value::Number(d);
    return true;
  }

  static void AppendUtf8(uint32_t cp, std::string* out) {
    if (cp < 0x80) {
      out->push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }

  bool Hex4(uint32_t* cp) {
    if (pos_ + 4 > s_.size()) return Fail("truncated \\u escape");
    *cp = 0;
    for (int i = 0; i < 4; ++i) {
      char h = s_[pos_++];
      *cp <<= 4;
      if (h >= '0' && h <= '9') *cp |= h - '0';
      else if (h >= 'a' && h <= 'f') *cp |= h - 'a' + 10;
      else if (h >= 'A' && h <= 'F') *cp |= h - 'A' + 10;
      else return Fail("invalid \\u escape");
    }
    return true;
  }

  bool ParseString(std::string* out) {
    ++pos_;  // opening quote
    while (pos_ < s_.size()) {
      char c = s_[pos_++];
      if (c == '"') return true;
      if (static_cast<unsigned char>(c) < 0x20) return Fail("control character in string");
      if (c != '\\') {
        out->push_back(c);
        continue;
      }
      if (pos_ >= s_.size()) break;
      char e = s_[pos_++];
      switch (e) {
        case '"': out->push_back('"'); break;
        case '\\': out->push_back('\\'); break;
        case '/': out->push_back('/'); break;
        case 'b': out->push_back('\b'); break;
        case 'f': out->push_back('\f'); break;
        case 'n': out->push_back('\n'); break;
        case 'r': out->push_back('\r'); break;
        case 't': out->push_back('\t'); break;
        case 'u': {
          uint32_t cp;
          if (!Hex4(&cp)) return false;
          if (cp >= 0xD800 && cp < 0xDC00 && s_.compare(pos_, 2, "\\u") == 0) {
            pos_ += 2;
            uint32_t lo;
            if (!Hex4(&lo)) return false;
            if (lo >= 0xDC00 && lo < 0xE000) cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          }
          AppendUtf8(cp, out);
          break;
        }
        default: return Fail("invalid escape");
      }
    }
    return Fail("unterminated string");
  }

  bool ParseArray(Value* out, int depth) {
    ++pos_;
    *out = Value::Array();
    SkipSpace();
    if (pos_ < s_.size() && s_[pos_] == ']') {
      ++pos_;
      return true;
    }
    for (;;) {
      Value item;
      if (!ParseValue(&item, depth + 1)) return false;
      out->Push(std::move(item));
      SkipSpace();
      if (pos_ >= s_.size()) return Fail("unterminated array");
      char c = s_[pos_++];
      if (c == ']') return true;
      if (c != ',') return Fail("expected ',' or ']'");
    }
  }

  bool ParseObject(Value* out, int depth) {
    ++pos_;
    *out = Value::Object();
    SkipSpace();
    if (pos_ < s_.size() && s_[pos_] == '}') {
      ++pos_;
      return true;
    }
    for (;;) {
      SkipSpace();
      if (pos_ >= s_.size() || s_[pos_] != '"') return Fail("expected a key");
      std::string key;
      if (!ParseString(&key)) return false;
      SkipSpace();
      if (pos_ >= s_.size() || s_[pos_] != ':') return Fail("expected ':'");
      ++pos_;
      Value v;
      if (!ParseValue(&v, depth + 1)) return false;
      out->Set(key, std::move(v));
      SkipSpace();
      if (pos_ >= s_.size()) return Fail("unterminated object");
      char c = s_[pos_++];
      if (c == '}') return true;
      if (c != ',') return Fail("expected ',' or '}'");
    }
  }

  const std::string& s_;
  size_t pos_ = 0;
  std::string error_;
};

std::string FormatNumber(double d) {
  if (!std::isfinite(d)) return "null";
  char buf[40];
  if (d == std::floor(d) && std::fabs(d) < 1e15) {
    std::snprintf(buf, sizeof(buf), "%.0f", d);
  } else {
    std::snprintf(buf, sizeof(buf), "%.9g", d);
  }
  return buf;
}

void SerializeTo(const Value& v, std::string* out) {
  switch (v.type()) {
    case Value::Type::kNull: *out += "null"; break;
    case Value::Type::kBool: *out += v.AsBool() ? "true" : "false"; break;
    case Value::Type::kNumber: *out += FormatNumber(v.AsNumber()); break;
    case Value::Type::kString: *out += Quote(v.AsString()); break;
    case Value::Type::kArray: {
      *out += '[';
      bool first = true;
      for (const auto& item : v.items()) {
        if (!first) *out += ',';
        first = false;
        SerializeTo(item, out);
      }
      *out += ']';
      break;
    }
    case Value::Type::kObject: {
      *out += '{';
      bool first = true;
      for (const auto& m : v.members()) {
        if (!first) *out += ',';
        first = false;
        *out += Quote(m.first);
        *out += ':';
        SerializeTo(m.second, out);
      }
      *out += '}';
      break;
    }
  }
}

}  // namespace

bool Parse(const std::string& text, Value* out, std::string* error) {
  Value v;
  if (!Parser(text).Run(&v, error)) return false;
  *out = std::move(v);
  return true;
}

std::string Serialize(const Value& v) {
  std::string out;
  SerializeTo(v, &out);
  return out;
}

std::string Quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", c);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  out += '"';
  return out;
}

void Writer::Separate() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (!first_.empty()) {
    if (!first_.back()) out_ += ',';
    first_.back() = false;
  }
}

Writer& Writer::BeginObject() {
  Separate();
  out_ += '{';
  first_.push_back(true);
  return *this;
}
Writer& Writer::EndObject() {
  out_ += '}';
  if (!first_.empty()) first_.pop_back();
  return *this;
}
Writer& Writer::BeginArray() {
  Separate();
  out_ += '[';
  first_.push_back(true);
  return *this;
}
Writer& Writer::EndArray() {
  out_ += ']';
  if (!first_.empty()) first_.pop_back();
  return *this;
}
Writer& Writer::Key(const std::string& key) {
  Separate();
  out_ += Quote(key);
  out_ += ':';
  after_key_ = true;
  return *this;
}
Writer& Writer::String(const std::string& s) {
  Separate();
  out_ += Quote(s);
  return *this;
}
Writer& Writer::Number(double d) {
  Separate();
  out_ += FormatNumber(d);
  return *this;
}
Writer& Writer::Int(int64_t i) {
  Separate();
  out_ += std::to_string(i);
  return *this;
}
Writer& Writer::Uint(uint64_t u) {
  Separate();
  out_ += std::to_string(u);
  return *this;
}
Writer& Writer::Bool(bool b) {
  Separate();
  out_ += b ? "true" : "false";
  return *this;
}
Writer& Writer::Null() {
  Separate();
  out_ += "null";
  return *this;
}
Writer& Writer::Raw(const std::string& json) {
  Separate();
  out_ += json;
  return *this;
}

}  // namespace hsapreempt::tools::json
