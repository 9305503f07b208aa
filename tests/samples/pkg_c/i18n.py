"""Message formatting for the Russian translation."""


def format_count(count: int) -> str:
    """Вернуть строку с количеством файлов в правильном падеже для русского языка.

    :param count: Количество файлов.
    :returns: Строка для показа пользователю.
    """
    if count % 10 == 1 and count % 100 != 11:
        return f"{count} файл"
    if 2 <= count % 10 <= 4 and not 12 <= count % 100 <= 14:
        return f"{count} файла"
    return f"{count} файлов"
