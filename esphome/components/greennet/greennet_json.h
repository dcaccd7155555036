// GreenNet: a tiny JSON writer and flat-object reader for the MQTT contract.
// Hand-written because ESPHome's json: component needs ArduinoJson from the PlatformIO
// registry, which the build machines cannot reach; the ESP32 build uses the very same
// code as the host test build, so the tests exercise what ships.
// Plain C++17, no ESPHome includes.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>

namespace greennet {

// The contract caps every JSON payload at this size (docs/protocol.md).
static constexpr size_t MAX_PAYLOAD_BYTES = 4096;

// Builds one JSON object, keys in insertion order. Non-finite numbers poison it:
// `ok()` turns false and the caller must not publish the result.
class JsonWriter {
 public:
  JsonWriter() : out_("{") {}

  JsonWriter &str(const char *key, const std::string &value) {
    this->key_(key);
    this->quote_(value);
    return *this;
  }
  JsonWriter &boolean(const char *key, bool value) {
    this->key_(key);
    this->out_ += value ? "true" : "false";
    return *this;
  }
  JsonWriter &integer(const char *key, long long value) {
    this->key_(key);
    this->out_ += std::to_string(value);
    return *this;
  }
  // Fixed decimals, trailing zeros trimmed ("2300.0" -> "2300", "0.100" -> "0.1").
  JsonWriter &number(const char *key, double value, int decimals) {
    if (!std::isfinite(value)) {
      this->ok_ = false;
      return *this;
    }
    char buf[48];
    std::snprintf(buf, sizeof(buf), "%.*f", decimals, value);
    std::string text(buf);
    if (text.find('.') != std::string::npos) {
      while (text.back() == '0')
        text.pop_back();
      if (text.back() == '.')
        text.pop_back();
    }
    if (text == "-0")
      text = "0";
    this->key_(key);
    this->out_ += text;
    return *this;
  }
  bool ok() const { return this->ok_ && this->out_.size() + 1 <= MAX_PAYLOAD_BYTES; }
  // The finished object, or "" when a value was not finite or the result is too large.
  std::string finish() const { return this->ok() ? this->out_ + "}" : std::string(); }

 private:
  void key_(const char *key) {
    if (this->out_.size() > 1)
      this->out_ += ',';
    this->quote_(key);
    this->out_ += ':';
  }
  void quote_(const std::string &s) {
    this->out_ += '"';
    for (unsigned char c : s) {
      if (c == '"' || c == '\\') {
        this->out_ += '\\';
        this->out_ += static_cast<char>(c);
      } else if (c < 0x20) {
        char esc[8];
        std::snprintf(esc, sizeof(esc), "\\u%04x", c);
        this->out_ += esc;
      } else {
        this->out_ += static_cast<char>(c);
      }
    }
    this->out_ += '"';
  }
  std::string out_;
  bool ok_{true};
};

// One top-level value of a JSON object. Nested objects/arrays are parsed (to validate
// the document) but kept only as OTHER: no GreenNet command has nested fields.
struct JsonValue {
  enum Kind { NUL, BOOL, NUMBER, STRING, OTHER } kind{NUL};
  bool b{false};
  double n{0.0};
  std::string s;
};

// Well-formed UTF-8 (no overlongs, no surrogates, at most U+10FFFF), as the contract requires.
inline bool valid_utf8(const std::string &text) {
  size_t i = 0, n = text.size();
  while (i < n) {
    unsigned char c = text[i];
    size_t len;
    uint32_t cp;
    if (c < 0x80) {
      i++;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > n)
      return false;
    for (size_t k = 1; k < len; k++) {
      unsigned char cc = text[i + k];
      if ((cc & 0xC0) != 0x80)
        return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    static const uint32_t MIN_CP[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < MIN_CP[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += len;
  }
  return true;
}

// Strict RFC 8259 reader for one object; unknown fields are kept and ignored by callers.
class JsonObjectReader {
 public:
  // Parse `text`; false (with `error()`) on anything that is not one JSON object.
  bool parse(const std::string &text) {
    this->text_ = &text;
    this->pos_ = 0;
    this->fields_.clear();
    if (text.size() > MAX_PAYLOAD_BYTES)
      return this->fail_("payload too large");
    if (!valid_utf8(text))
      return this->fail_("payload is not UTF-8");
    this->ws_();
    if (!this->peek_('{'))
      return this->fail_("payload is not a JSON object");
    if (!this->object_(0, true))
      return false;
    this->ws_();
    if (this->pos_ != text.size())
      return this->fail_("trailing characters after JSON");
    return true;
  }
  const char *error() const { return this->error_; }
  // nullptr when absent; a JSON null counts as absent, as in the Python contract module.
  const JsonValue *get(const char *key) const {
    auto it = this->fields_.find(key);
    if (it == this->fields_.end() || it->second.kind == JsonValue::NUL)
      return nullptr;
    return &it->second;
  }
  bool has_key(const char *key) const { return this->fields_.count(key) != 0; }

 private:
  static constexpr int MAX_DEPTH = 16;

  bool fail_(const char *why) {
    this->error_ = why;
    return false;
  }
  bool at_end_() const { return this->pos_ >= this->text_->size(); }
  char cur_() const { return this->at_end_() ? '\0' : (*this->text_)[this->pos_]; }
  bool peek_(char c) const { return this->cur_() == c; }
  void ws_() {
    while (!this->at_end_() && (this->cur_() == ' ' || this->cur_() == '\t' || this->cur_() == '\n' ||
                                this->cur_() == '\r'))
      this->pos_++;
  }
  bool literal_(const char *word) {
    size_t len = std::char_traits<char>::length(word);
    if (this->text_->compare(this->pos_, len, word) != 0)
      return this->fail_("invalid JSON literal");
    this->pos_ += len;
    return true;
  }
  static void utf8_(std::string &out, uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }
  bool hex4_(uint32_t &cp) {
    if (this->pos_ + 4 > this->text_->size())
      return this->fail_("bad \\u escape");
    cp = 0;
    for (int i = 0; i < 4; i++) {
      char c = (*this->text_)[this->pos_++];
      cp <<= 4;
      if (c >= '0' && c <= '9')
        cp |= c - '0';
      else if (c >= 'a' && c <= 'f')
        cp |= c - 'a' + 10;
      else if (c >= 'A' && c <= 'F')
        cp |= c - 'A' + 10;
      else
        return this->fail_("bad \\u escape");
    }
    return true;
  }
  bool string_(std::string &out) {
    this->pos_++;  // opening quote
    while (true) {
      if (this->at_end_())
        return this->fail_("unterminated string");
      unsigned char c = this->cur_();
      this->pos_++;
      if (c == '"')
        return true;
      if (c < 0x20)
        return this->fail_("control character in string");
      if (c != '\\') {
        out += static_cast<char>(c);
        continue;
      }
      char e = this->cur_();
      this->pos_++;
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          uint32_t cp;
          if (!this->hex4_(cp))
            return false;
          if (cp >= 0xD800 && cp <= 0xDBFF && this->text_->compare(this->pos_, 2, "\\u") == 0) {
            size_t next = this->pos_;
            uint32_t low;
            this->pos_ += 2;
            if (!this->hex4_(low))
              return false;
            if (low >= 0xDC00 && low <= 0xDFFF)
              cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
            else
              this->pos_ = next;  // not a pair: the next escape is a character of its own
          }
          // A lone surrogate is kept as its 3-byte form (WTF-8), as Python's json keeps it.
          utf8_(out, cp);
          break;
        }
        default:
          return this->fail_("bad escape in string");
      }
    }
  }
  bool digits_() {
    size_t start = this->pos_;
    while (this->cur_() >= '0' && this->cur_() <= '9')
      this->pos_++;
    return this->pos_ > start;
  }
  bool number_(double &out) {
    size_t start = this->pos_;
    if (this->peek_('-'))
      this->pos_++;
    if (this->peek_('0')) {
      this->pos_++;
    } else if (!this->digits_()) {
      return this->fail_("invalid number");
    }
    if (this->peek_('.')) {
      this->pos_++;
      if (!this->digits_())
        return this->fail_("invalid number");
    }
    if (this->peek_('e') || this->peek_('E')) {
      this->pos_++;
      if (this->peek_('+') || this->peek_('-'))
        this->pos_++;
      if (!this->digits_())
        return this->fail_("invalid number");
    }
    std::string token = this->text_->substr(start, this->pos_ - start);
    out = std::strtod(token.c_str(), nullptr);
    if (!std::isfinite(out))
      return this->fail_("number is not finite");
    return true;
  }
  bool value_(int depth, JsonValue &v) {
    this->ws_();
    char c = this->cur_();
    if (c == '"') {
      v.kind = JsonValue::STRING;
      return this->string_(v.s);
    }
    if (c == '{' || c == '[') {
      v.kind = JsonValue::OTHER;
      return c == '{' ? this->object_(depth + 1, false) : this->array_(depth + 1);
    }
    if (c == 't' || c == 'f') {
      v.kind = JsonValue::BOOL;
      v.b = c == 't';
      return this->literal_(v.b ? "true" : "false");
    }
    if (c == 'n') {
      v.kind = JsonValue::NUL;
      return this->literal_("null");
    }
    v.kind = JsonValue::NUMBER;
    return this->number_(v.n);
  }
  bool array_(int depth) {
    if (depth > MAX_DEPTH)
      return this->fail_("JSON nested too deeply");
    this->pos_++;
    this->ws_();
    if (this->peek_(']')) {
      this->pos_++;
      return true;
    }
    while (true) {
      JsonValue ignored;
      if (!this->value_(depth, ignored))
        return false;
      this->ws_();
      if (this->peek_(']')) {
        this->pos_++;
        return true;
      }
      if (!this->peek_(','))
        return this->fail_("expected , or ] in array");
      this->pos_++;
    }
  }
  bool object_(int depth, bool top) {
    if (depth > MAX_DEPTH)
      return this->fail_("JSON nested too deeply");
    this->pos_++;
    this->ws_();
    if (this->peek_('}')) {
      this->pos_++;
      return true;
    }
    while (true) {
      this->ws_();
      if (!this->peek_('"'))
        return this->fail_("expected a string key");
      std::string key;
      if (!this->string_(key))
        return false;
      this->ws_();
      if (!this->peek_(':'))
        return this->fail_("expected : after key");
      this->pos_++;
      JsonValue v;
      if (!this->value_(depth, v))
        return false;
      if (top)
        this->fields_[key] = v;  // duplicate keys: the last one wins, as in Python's json
      this->ws_();
      if (this->peek_('}')) {
        this->pos_++;
        return true;
      }
      if (!this->peek_(','))
        return this->fail_("expected , or } in object");
      this->pos_++;
    }
  }

  const std::string *text_{nullptr};
  size_t pos_{0};
  std::map<std::string, JsonValue> fields_;
  const char *error_{""};
};

}  // namespace greennet
