# Project code builds with every warning as an error; third-party headers come in as SYSTEM.
function(vigil_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Werror -Wshadow -Wnon-virtual-dtor
                                           -Wformat=2 -Wimplicit-fallthrough)
endfunction()
