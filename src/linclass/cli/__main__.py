from linclass.console import main

main()
