// A small JSON value, parser and writer for the tools (no external dependency).
//
// Parser: RFC 8259 text into a Value tree (objects keep key order; duplicate keys keep the last).
// Numbers are doubles. Nesting is limited to 64 levels so hostile input cannot overflow the
// stack. Errors give one line with the byte offset; nothing throws.
// Writer: builds one JSON document by appending; keys and strings are escaped; non-finite numbers
// are written as null (JSON has no NaN/Inf).
#ifndef TOOLS_SUPPORT_JSON_H_
#define TOOLS_SUPPORT_JSON_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace hsapreempt::tools::json {

class Value {
 public:
  enum class Type { kNull, kBool, kNumber, kString, kArray, kObject };

  Value() = default;
  static Value Bool(bool b);
  static Value Number(double d);
  static Value String(std::string s);
  static Value Array();
  static Value Object();

  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::kNull; }
  bool is_number() const { return type_ == Type::kNumber; }
  bool is_string() const { return type_ == Type::kString; }
  bool is_array() const { return type_ == Type::kArray; }
  bool is_object() const { return type_ == Type::kObject; }

  // Accessors with a fallback when the type differs (tools validate what they need).
  double AsNumber(double fallback = 0) const { return is_number() ? number_ : fallback; }
  bool AsBool(bool fallback = false) const { return type_ == Type::kBool ? bool_ : fallback; }
  const std::string& AsString() const { return string_; }

  // Arrays.
  const std::vector<Value>& items() const { return items_; }
  void Push(Value v) { items_.push_back(std::move(v)); }
  // Objects. Get() returns a shared null Value when the key is absent or this is not an object.
  const std::vector<std::pair<std::string, Value>>& members() const { return members_; }
  const Value& Get(const std::string& key) const;
  bool Has(const std::string& key) const;
  void Set(const std::string& key, Value v);

 private:
  Type type_ = Type::kNull;
  bool bool_ = false;
  double number_ = 0;
  std::string string_;
  std::vector<Value> items_;
  std::vector<std::pair<std::string, Value>> members_;
};

// Parses `text`. On error returns false and sets *error to one line ("offset N: reason").
bool Parse(const std::string& text, Value* out, std::string* error);

// Serialises a Value compactly.
std::string Serialize(const Value& v);

// Streaming writer: Begin/End objects and arrays, Key() before each member's value.
// Commas are inserted automatically. The caller keeps the nesting balanced.
class Writer {
 public:
  Writer& BeginObject();
  Writer& EndObject();
  Writer& BeginArray();
  Writer& EndArray();
  Writer& Key(const std::string& key);
  Writer& String(const std::string& s);
  Writer& Number(double d);  // NaN and infinities are written as null (JSON has neither)
  Writer& Int(int64_t i);
  Writer& Uint(uint64_t u);
  Writer& Bool(bool b);
  Writer& Null();
  // Convenience: Key(k) then the value.
  Writer& Field(const std::string& k, const std::string& s) { return Key(k).String(s); }
  Writer& Field(const std::string& k, const char* s) { return Key(k).String(s ? s : ""); }
  Writer& Field(const std::string& k, double d) { return Key(k).Number(d); }
  Writer& Field(const std::string& k, int64_t i) { return Key(k).Int(i); }
  Writer& Field(const std::string& k, uint64_t u) { return Key(k).Uint(u); }
  Writer& Field(const std::string& k, int i) { return Key(k).Int(i); }
  Writer& Field(const std::string& k, unsigned u) { return Key(k).Uint(u); }
  Writer& Field(const std::string& k, bool b) { return Key(k).Bool(b); }
  // Inserts already-serialised JSON as a value.
  Writer& Raw(const std::string& json);

  const std::string& str() const { return out_; }

 private:
  void Separate();
  std::string out_;
  std::vector<bool> first_;  // per open container: no member written yet
  bool after_key_ = false;
};

// Escapes `s` as a JSON string literal, quotes included.
std::string Quote(const std::string& s);

}  // namespace hsapreempt::tools::json

#endif  // TOOLS_SUPPORT_JSON_H_
