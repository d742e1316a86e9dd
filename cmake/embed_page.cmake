# Writes OUTPUT, a C++ file defining gan::serve::page_html() as the text of INPUT (a raw string:
# the page must not contain the delimiter `)gan_page"`).
file(READ ${INPUT} _text)
string(FIND "${_text}" ")gan_page\"" _bad)
if(NOT _bad EQUAL -1)
  message(FATAL_ERROR "${INPUT} contains the raw-string delimiter )gan_page\"")
endif()
file(WRITE ${OUTPUT}.tmp
     "// Generated from src/serve/page.html by cmake/embed_page.cmake; do not edit.\n"
     "#include \"src/serve/page.h\"\n"
     "namespace gan::serve {\n"
     "const char* page_html() {\n"
     "  return R\"gan_page(${_text})gan_page\";\n"
     "}\n"
     "}  // namespace gan::serve\n")
file(RENAME ${OUTPUT}.tmp ${OUTPUT})
