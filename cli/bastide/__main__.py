from bastide.commands import main

main()
