#include "data/png_text.h"

#include <png.h>

#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include "src/core/atomic_write.h"
#include "src/core/errors.h"

namespace gan {
namespace {

// libpng reports errors by longjmp to the setjmp of the running call; the functions holding a
// setjmp below keep only trivially destructible locals, and C++ objects live in their callers.
struct PngContext {
  char message[256] = "";
};

void on_error(png_structp png, png_const_charp msg) {
  auto* ctx = static_cast<PngContext*>(png_get_error_ptr(png));
  std::snprintf(ctx->message, sizeof(ctx->message), "%s", msg ? msg : "libpng error");
  png_longjmp(png, 1);
}

void on_warning(png_structp, png_const_charp) {}  // e.g. unknown chunks: not our concern

void append_bytes(png_structp png, png_bytep data, png_size_t length) {
  static_cast<std::string*>(png_get_io_ptr(png))
      ->append(reinterpret_cast<const char*>(data), length);
}

void flush_nothing(png_structp) {}

struct MemoryReader {
  const unsigned char* data;
  size_t size;
  size_t pos;
};

void read_bytes(png_structp png, png_bytep out, png_size_t length) {
  auto* in = static_cast<MemoryReader*>(png_get_io_ptr(png));
  if (length > in->size - in->pos) png_error(png, "file is truncated");
  std::memcpy(out, in->data + in->pos, length);
  in->pos += length;
}

bool write_png(PngContext* ctx, std::string* out, const cv::Mat* image, png_text* texts,
               int num_texts) {
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, ctx, on_error, on_warning);
  if (!png) return false;
  png_infop info = png_create_info_struct(png);
  if (!info) {
    png_destroy_write_struct(&png, nullptr);
    return false;
  }
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    return false;
  }
  png_set_write_fn(png, out, append_bytes, flush_nothing);
  const bool color = image->channels() == 3;
  png_set_IHDR(png, info, png_uint_32(image->cols), png_uint_32(image->rows), 8,
               color ? PNG_COLOR_TYPE_RGB : PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  if (num_texts > 0) png_set_text(png, info, texts, num_texts);
  png_write_info(png, info);
  if (color) png_set_bgr(png);  // OpenCV holds BGR; PNG stores RGB
  for (int r = 0; r < image->rows; ++r) {
    png_write_row(png, const_cast<png_bytep>(image->ptr<unsigned char>(r)));
  }
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  return true;
}

// Decodes the whole PNG row by row (so corruption anywhere is found, text after the pixels is
// read, and memory stays one row); on success the caller reads the text and destroys the structs.
bool read_png(PngContext* ctx, MemoryReader* in, png_structp* png_out, png_infop* info_out) {
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, ctx, on_error, on_warning);
  if (!png) return false;
  png_infop info = png_create_info_struct(png);
  if (!info) {
    png_destroy_read_struct(&png, nullptr, nullptr);
    return false;
  }
  png_bytep volatile row = nullptr;
  if (setjmp(png_jmpbuf(png))) {
    if (row) png_free(png, row);
    png_destroy_read_struct(&png, &info, nullptr);
    return false;
  }
  png_set_read_fn(png, in, read_bytes);
  png_set_user_limits(png, 1u << 24, 1u << 30);
  png_set_chunk_malloc_max(png, 64u << 20);  // bounds decompressed text chunks
  png_read_info(png, info);
  const int passes = png_set_interlace_handling(png);
  png_read_update_info(png, info);
  const png_uint_32 height = png_get_image_height(png, info);
  row = static_cast<png_bytep>(png_malloc(png, png_get_rowbytes(png, info)));
  for (int pass = 0; pass < passes; ++pass) {
    for (png_uint_32 y = 0; y < height; ++y) png_read_row(png, row, nullptr);
  }
  png_free(png, row);
  row = nullptr;
  png_read_end(png, info);
  *png_out = png;
  *info_out = info;
  return true;
}

void check_key(const std::string& key) {
  bool ok = !key.empty() && key.size() <= 79 && key.front() != ' ' && key.back() != ' ' &&
            key.find("  ") == std::string::npos;
  for (unsigned char c : key) ok = ok && ((c >= 32 && c <= 126) || c >= 161);
  if (!ok) {
    throw std::invalid_argument("PNG text key '" + key +
                                "' is not 1-79 printable Latin-1 characters");
  }
}

// tEXt and zTXt hold Latin-1; everything PngText returns is UTF-8.
std::string latin1_to_utf8(const char* s, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      out += char(c);
    } else {
      out += char(0xC0 | (c >> 6));
      out += char(0x80 | (c & 0x3F));
    }
  }
  return out;
}

}  // namespace

const std::string* find_png_text(const PngText& text, const std::string& key) {
  for (const auto& kv : text) {
    if (kv.first == key) return &kv.second;
  }
  return nullptr;
}

bool is_png(const std::string& bytes) {
  return bytes.size() >= 8 &&
         png_sig_cmp(reinterpret_cast<png_const_bytep>(bytes.data()), 0, 8) == 0;
}

std::string encode_png(const cv::Mat& image, const PngText& text) {
  if (image.depth() != CV_8U || (image.channels() != 1 && image.channels() != 3) ||
      image.dims != 2 || image.empty()) {
    throw std::invalid_argument("encode_png: needs a non-empty 8-bit gray or BGR image");
  }
  std::vector<png_text> chunks(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    check_key(text[i].first);
    if (text[i].second.find('\0') != std::string::npos) {
      throw std::invalid_argument("PNG text '" + text[i].first + "' holds a NUL byte");
    }
    png_text& t = chunks[i];
    std::memset(&t, 0, sizeof(t));
    t.compression =
        text[i].second.size() > 1024 ? PNG_ITXT_COMPRESSION_zTXt : PNG_ITXT_COMPRESSION_NONE;
    t.key = const_cast<char*>(text[i].first.c_str());
    t.text = const_cast<char*>(text[i].second.c_str());
    t.itxt_length = text[i].second.size();
    t.lang = const_cast<char*>("");
    t.lang_key = const_cast<char*>("");
  }
  PngContext ctx;
  std::string out;
  out.reserve(size_t(image.total() * image.elemSize()) / 2 + 1024);
  if (!write_png(&ctx, &out, &image, chunks.data(), int(chunks.size()))) {
    throw std::runtime_error(std::string("cannot encode PNG: ") +
                             (ctx.message[0] ? ctx.message : "out of memory"));
  }
  return out;
}

void save_png(const std::string& path, const cv::Mat& image, const PngText& text) {
  std::string bytes;
  try {
    bytes = encode_png(image, text);
  } catch (const std::exception& e) {
    throw std::runtime_error(path + ": " + e.what());
  }
  write_file_atomic(path, bytes);
}

PngText read_png_text(const std::string& bytes, const std::string& what) {
  if (!is_png(bytes)) throw DataError(what + ": not a PNG file");
  PngContext ctx;
  MemoryReader in{reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), 0};
  png_structp png = nullptr;
  png_infop info = nullptr;
  if (!read_png(&ctx, &in, &png, &info)) {
    throw DataError(what + ": corrupt PNG (" + (ctx.message[0] ? ctx.message : "out of memory") +
                    ")");
  }
  PngText out;
  png_textp texts = nullptr;
  const int n = png_get_text(png, info, &texts, nullptr);
  for (int i = 0; i < n; ++i) {
    const png_text& t = texts[i];
    const bool itxt =
        t.compression == PNG_ITXT_COMPRESSION_NONE || t.compression == PNG_ITXT_COMPRESSION_zTXt;
    std::string value = itxt ? std::string(t.text ? t.text : "", t.itxt_length)
                             : latin1_to_utf8(t.text ? t.text : "", t.text_length);
    out.emplace_back(latin1_to_utf8(t.key, std::strlen(t.key)), std::move(value));
  }
  png_destroy_read_struct(&png, &info, nullptr);
  return out;
}

}  // namespace gan
