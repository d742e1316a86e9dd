// The one page `gan serve` sends: HTML, CSS and script in src/serve/page.html, compiled into the
// binary as a string (cmake/embed_page.cmake), so the server needs no files and no internet.
#pragma once

namespace gan::serve {

const char* page_html();

}  // namespace gan::serve
