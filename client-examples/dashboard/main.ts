document.getElementById('app')!.textContent = 'Recoup';
